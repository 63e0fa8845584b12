"""The student's day: watch (polling), reset, and the status cache."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import threading
import time
import unittest

from katalib import course, reset, runner, state, watch

ROOT = course.ROOT


def make_fake_course(test: unittest.TestCase) -> course.Exercise:
    """A course of one exercise in a scratch git repository, nothing built."""
    root = pathlib.Path(test.enterContext(tempfile.TemporaryDirectory(prefix="kata-loop-")))
    folder = root / "exercises/01_x"
    folder.mkdir(parents=True)
    (folder / "exercise.json").write_text('{"title": "X", "weight": 100, "headers": ["x.hpp"], "stub_files": ["x.cpp"]}')
    (folder / "x.cpp").write_text("// the stub\n")
    (folder / "x.hpp").write_text("// the contract\n")
    git = ["git", "-C", str(root), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "shipped"], check=True)
    return course.find("01", root)


class WatchTest(unittest.TestCase):
    def test_polling_sees_a_file_change(self):
        folder = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        (folder / "a.cpp").write_text("one")
        writer = threading.Timer(0.3, lambda: (folder / "a.cpp").write_text("two, longer"))
        writer.start()
        self.addCleanup(writer.cancel)
        self.assertTrue(watch.wait_by_polling(folder, interval=0.05, timeout=5))

    def test_polling_sees_a_new_file_and_times_out_when_nothing_changes(self):
        folder = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        self.assertFalse(watch.wait_by_polling(folder, interval=0.05, timeout=0.3))
        threading.Timer(0.2, lambda: (folder / "new.cpp").write_text("x")).start()
        self.assertTrue(watch.wait_by_polling(folder, interval=0.05, timeout=5))


class ResetTest(unittest.TestCase):
    def test_reset_restores_the_stub_and_keeps_a_backup(self):
        exercise = make_fake_course(self)
        stub = exercise.folder / "x.cpp"
        stub.write_text("// my work\n")
        self.assertEqual(reset.changed_files(exercise), [stub])
        backup = reset.reset(exercise)
        self.assertEqual(stub.read_text(), "// the stub\n")
        self.assertEqual((backup / "x.cpp").read_text(), "// my work\n")
        self.assertIsNone(reset.reset(exercise), "nothing left to reset")

    def test_reset_uses_the_shipped_version_even_after_the_student_commits(self):
        exercise = make_fake_course(self)
        root = exercise.root
        subprocess.run(["git", "clone", "-q", str(root), str(root / "clone")], check=True)
        student = course.find("01", root / "clone")
        (student.folder / "x.cpp").write_text("// committed work\n")
        subprocess.run(["git", "-C", str(student.root), "-c", "user.name=s", "-c", "user.email=s@s",
                        "commit", "-qam", "mine"], check=True)
        reset.reset(student)
        self.assertEqual((student.folder / "x.cpp").read_text(), "// the stub\n")


class StatusCacheTest(unittest.TestCase):
    def test_a_cached_result_holds_until_a_file_it_depends_on_changes(self):
        exercise = make_fake_course(self)
        run = runner.ExerciseRun(exercise, build=type("B", (), {"ok": True})(), results=[])
        runner.remember(run)
        self.assertIsNotNone(runner.cached(exercise))
        (exercise.folder / "x.cpp").write_text("// edited\n")
        self.assertIsNone(runner.cached(exercise))

    def test_the_fingerprint_covers_stub_header_and_test(self):
        exercise = make_fake_course(self)
        before = state.fingerprint(exercise)
        exercise.test_file.parent.mkdir()
        exercise.test_file.write_text("// a test\n")
        self.assertNotEqual(state.fingerprint(exercise), before)


KATA = [sys.executable, str(ROOT / "kata")]
QUIET = dict(os.environ, NO_COLOR="1")


def kata(*args: str, root: pathlib.Path = ROOT, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(root / "kata"), *args], cwd=root, env=QUIET, capture_output=True,
                          text=True, check=False, timeout=kwargs.pop("timeout", 600), **kwargs)


def copy_course(test: unittest.TestCase, keep: tuple[str, ...], destination: pathlib.Path | None = None
                ) -> pathlib.Path:
    """A scratch copy of the course with only the exercises `keep`, as a fresh clone has it."""
    scratch = destination or pathlib.Path(test.enterContext(tempfile.TemporaryDirectory(prefix="kata-loop-")))
    copy = scratch / "repo"
    at_top = lambda folder, names: {  # noqa: E731
        n for n in names if n in (".git", ".kata", "__pycache__") or (pathlib.Path(folder) == ROOT and n.startswith("build"))}
    shutil.copytree(ROOT, copy, ignore=at_top)
    for manifest in (copy / "exercises").glob("*/exercise.json"):
        if not manifest.parent.name.startswith(keep):
            manifest.unlink()  # an exercise is in the course while its manifest is
    git = ["git", "-C", str(copy), "-c", "user.name=t", "-c", "user.email=t@t"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "shipped"], check=True)
    return copy


def one_line_error(test: unittest.TestCase, run: subprocess.CompletedProcess, code: int | None = None) -> None:
    """What bad input gets: a non-zero exit and one clear line, never a traceback."""
    test.assertNotEqual(run.returncode, 0, run.stdout)
    if code is not None:
        test.assertEqual(run.returncode, code, run.stderr)
    test.assertNotIn("Traceback", run.stderr + run.stdout)
    test.assertEqual(len(run.stderr.strip().splitlines()), 1, run.stderr)


class ExplanationsTest(unittest.TestCase):
    """Each failure gets the explanation that fits its kind, or none."""

    def result(self, name: str, status: str = "failed", output: str = "", detail: str = ""):
        from katalib import ctest

        return ctest.TestResult(name, status, detail=detail, output=output)

    def test_08s_timeout_is_about_futexes_and_robust_mutexes(self):
        from katalib import lessons

        text = lessons.explain(self.result("08_queues/ShmQueueTest.GetSleepsWhileTheQueueIsEmpty", "timeout"))
        for word in ("futex", "wake-up", "robust"):
            self.assertIn(word, text)
        self.assertNotIn("full pipe", text)
        piped = lessons.explain(self.result("08_queues/PipeQueueTest.GetReturnsNulloptOnceEveryWriterIsGone",
                                            "timeout"))
        self.assertIn("end of file", piped)
        self.assertNotIn("futex", piped)

    def test_02s_timeout_is_about_full_pipes(self):
        from katalib import lessons

        text = lessons.explain(self.result("02_pool_map/PoolMapTest.AMillionItemsDoNotDeadlockOnFullPipes", "timeout"))
        self.assertIn("64 KiB", text)

    def test_no_matching_entry_shows_none_never_another_kinds(self):
        from katalib import lessons

        # 08 explains its timeouts test by test: a test it does not name gets nothing.
        self.assertIsNone(lessons.explain(self.result("08_queues/Other.Test", "timeout")))
        # An exercise without explanations: no timeout or wrong-value guess from the course.
        self.assertIsNone(lessons.explain(self.result("99_none/A.B", "timeout")))
        self.assertIsNone(lessons.explain(self.result("99_none/A.B", output="Which is: 3")))
        # Kinds that mean the same everywhere come from the course-wide set.
        self.assertIn("waitpid", lessons.explain(self.result("99_none/A.B", output="leaked child processes: 7")))

    def test_kinds_are_read_from_what_the_test_printed(self):
        from katalib import lessons

        kind = lambda **kw: lessons.kind_of(self.result("e/A.B", **kw))  # noqa: E731
        self.assertEqual(kind(status="timeout"), "timeout")
        self.assertEqual(kind(output='    Which is: "timed out: killed at the deadline (did it hang?)"'), "timeout")
        self.assertEqual(kind(output='    Which is: "killed by SIGSEGV"\n  kPassed'), "signal SIGSEGV")
        self.assertEqual(kind(status="crashed", detail="SegFault"), "signal SIGSEGV")
        # An expected value that names a signal is not the failure's kind.
        self.assertEqual(kind(output='  "killed by SIGKILL"\n    Which is: "exited with status 1"'), "wrong value")
        self.assertEqual(kind(output="leaked file descriptors: 5 -> pipe:[1]"), "leaked fd")
        self.assertEqual(kind(output="x is not implemented yet: that is your exercise"), "stub")
        self.assertIsNone(kind(status="passed"))

    def test_every_exercise_has_explanations_that_name_its_own_tests(self):
        from katalib import lessons

        for exercise in course.exercises():
            path = exercise.folder / lessons.FILE_NAME
            data = json.loads(path.read_text(encoding="utf-8"))
            self.assertTrue(data["explanations"], path)
            tests = re.findall(r"^TEST(?:_F)?\((\w+),\s*(\w+)", exercise.test_file.read_text(), re.M)
            names = [f"{suite}.{name}" for suite, name in tests]
            for entry in data["explanations"]:
                self.assertTrue(entry["kind"] in lessons.KINDS or entry["kind"].startswith("signal SIG"), entry)
                self.assertEqual(len(lessons.entries(path)), len(data["explanations"]), path)
                if "tests" in entry:
                    self.assertTrue(any(re.search(entry["tests"], n) for n in names),
                                    f"{path}: {entry['tests']} matches none of its tests")


class FailureExcerptTest(unittest.TestCase):
    def test_the_tests_sentence_comes_before_gtests_values(self):
        from katalib import ctest

        output = "\n".join([
            "[ RUN      ] A.B", "t.cpp:9: Failure", "Expected equality of these values:", "  value",
            "    Which is: 18446744073709551615", "  3", "map gave the wrong value at index 2",
            "t.cpp:12: Failure", "Expected equality of these values:", "  outcome.describe()",
            '    Which is: "killed by SIGSEGV"', "  kPassed", '    Which is: "returned \\"ok\\""',
            "[  FAILED  ] A.B (3 ms)"])
        lines = ctest.failure_excerpt(output).splitlines()
        self.assertEqual(lines[0], "map gave the wrong value at index 2")
        self.assertEqual(lines[1], "t.cpp:9: Failure")
        self.assertLess(lines.index("map gave the wrong value at index 2"),
                        lines.index("    Which is: 18446744073709551615"))
        self.assertEqual(lines[6], "killed by SIGSEGV")
        self.assertEqual(lines[7], "t.cpp:12: Failure")


class CommandLineTest(unittest.TestCase):
    def test_help_and_help_for_one_command(self):
        everything = kata("help")
        self.assertEqual(everything.returncode, 0)
        for command in ("test", "watch", "status", "hint", "help"):
            self.assertIn(command, everything.stdout)
        one = kata("help", "test")
        self.assertEqual(one.returncode, 0)
        self.assertIn("--all", one.stdout)
        self.assertIn("-k PATTERN", one.stdout)
        one_line_error(self, kata("help", "nope"), 2)

    def test_an_unknown_exercise_is_one_line(self):
        for spec in ("99", "abc"):
            run = kata("test", spec)
            one_line_error(self, run, 2)
            self.assertIn(f"no exercise '{spec}'", run.stderr)

    def test_piped_output_that_is_cut_short_is_no_traceback(self):
        # The reader leaves before kata writes: ./kata hint 08 --all | head -0
        reader, writer = os.pipe()
        os.close(reader)
        try:
            run = subprocess.run([*KATA, "hint", "08", "--all"], stdout=writer, stderr=subprocess.PIPE,
                                 text=True, env=QUIET, check=False, timeout=60)
        finally:
            os.close(writer)
        self.assertNotIn("Traceback", run.stderr)
        self.assertEqual(run.stderr, "")
        self.assertEqual(run.returncode, 141)

    def test_no_hints_left_is_one_line(self):
        copy = copy_course(self, ("01_",))
        hints = course.find("01", copy).hints()
        state.save("hints.json", {"01_cpu_count": len(hints)}, copy)
        run = kata("hint", "01", root=copy)
        one_line_error(self, run, 1)
        self.assertIn("No hints left", run.stderr)
        again = kata("hint", "01", "--reset", root=copy)
        self.assertEqual(again.returncode, 0)
        self.assertIn(f"Hint 1 of {len(hints)}", again.stdout)

    def test_clangd_finds_every_exercises_header_on_a_fresh_clone(self):
        text = (ROOT / ".clangd").read_text()
        for exercise in course.exercises():
            self.assertIn(f"-I../exercises/{exercise.name}", text)
            self.assertIn(f"-I../../exercises/{exercise.name}", text)

    def test_bench_02_has_the_million_item_rows(self):
        cells = json.loads((ROOT / "bench/cells.json").read_text())["cells"]
        sources = [row["source"] for cell in cells for row in cell["rows"] if row["source"].startswith("02_pool_map:")]
        declared = set(re.findall(r"^BENCHMARK\((\w+)\)", (ROOT / "bench/02_pool_map_bench.cpp").read_text(), re.M))
        for name in ("BM_million_sequential/real_time", "BM_million_pool/chunk:1/real_time",
                     "BM_million_pool/chunk:0/real_time", "BM_million_tbb_map/real_time"):
            self.assertIn(f"02_pool_map:{name}", sources)
            self.assertIn(name.split("/")[0], declared)


class StatusLineTest(unittest.TestCase):
    def test_off_a_terminal_a_line_for_each_exercise_not_for_each_step(self):
        import io

        from katalib import term

        out = io.StringIO()
        line = term.StatusLine(out)
        for step in range(1, 50):
            line.show("building", step // 10, 9, f"step {step}/50")
        line.show("testing", 0, 9)
        self.assertEqual([l.split("  ")[0] for l in out.getvalue().splitlines()],
                         [f"building {n}/9" for n in range(5)] + ["testing 0/9"])


class ScreenKeysTest(unittest.TestCase):
    """The screen's keys, without a terminal: what each one does to its state."""

    def screen(self):
        from katalib import screen

        shown = screen.Screen(course.find("01"), use_inotify=False)
        shown.open = lambda exercise: setattr(shown, "exercise", exercise)  # no run, no watcher
        return shown

    def test_the_list_picks_by_number_or_by_arrows_and_enter(self):
        import curses

        shown = self.screen()
        shown.key(ord("l"))
        self.assertEqual(shown.view, "list")
        shown.key(ord("3"))
        self.assertEqual((shown.view, shown.exercise.name), ("main", "03_ipc_overhead"))
        shown.key(ord("l"))
        for key in (curses.KEY_DOWN, curses.KEY_DOWN, curses.KEY_UP, 10):
            shown.key(key)
        self.assertEqual(shown.exercise.name, "04_sleepy_workload")
        self.assertFalse(shown.key(ord("q")))

    def test_what_the_screen_says_for_each_kind_of_run(self):
        shown = self.screen()
        text = lambda: "\n".join(line for line, _ in shown.lines(100))  # noqa: E731
        self.assertIn("building and testing 01_cpu_count", text())
        shown.result = {"compiled": False, "first_error": "x.cpp:1:1: error: expected ';'", "done": False,
                        "failures": [], "passed": 0, "total": 0}
        self.assertIn("does not compile yet", text())
        self.assertIn("error: expected ';'", text())
        same = "This is still the stub."
        shown.result = {"compiled": True, "done": False, "passed": 0, "total": 2, "first_error": "", "failures": [
            {"name": "A.B", "status": "timeout", "detail": "", "excerpt": "the sentence\nt.cpp:1: Failure",
             "explanation": same},
            {"name": "A.C", "status": "failed", "detail": "", "excerpt": "another", "explanation": same}]}
        self.assertIn("✗ A.B  (timeout)", text())
        self.assertLess(text().index("the sentence"), text().index("t.cpp:1: Failure"))
        self.assertEqual(text().count(same), 1, "one explanation is said once")
        shown.result = {"compiled": True, "done": True, "passed": 2, "total": 2, "first_error": "", "failures": []}
        self.assertIn("01 passes!", text())
        self.assertIn("Press n for the next exercise: 02", text())

    def test_too_small_is_one_line(self):
        from katalib import screen

        self.assertIsNone(screen.too_small(100, 35))
        self.assertIn("at least", screen.too_small(59, 35))
        self.assertEqual(len(screen.too_small(80, 10).splitlines()), 1)


class Tmux:
    """The screen as a person sees it: tmux runs it, send-keys types, capture-pane reads."""

    def setUp(self):
        self.socket = f"kata-test-{os.getpid()}-{id(self)}"
        self.addCleanup(subprocess.run, ["tmux", "-L", self.socket, "kill-server"], capture_output=True, check=False)

    def tmux(self, *args: str) -> str:
        return subprocess.run(["tmux", "-L", self.socket, *args], capture_output=True, text=True,
                              check=True).stdout

    def start(self, command: str, root: pathlib.Path, width: int = 100, height: int = 35) -> None:
        shell = f"cd {root} && {command}; echo kata-exit=$?; sleep 60"
        self.tmux("new-session", "-d", "-x", str(width), "-y", str(height), "-s", "kata", shell)

    def screen(self) -> str:
        return self.tmux("capture-pane", "-p", "-t", "kata")

    def wait_for(self, pattern: str, timeout: float = 300) -> str:
        deadline = time.monotonic() + timeout
        while True:
            text = self.screen()
            if re.search(pattern, text):
                return text
            if time.monotonic() > deadline:
                self.fail(f"no {pattern!r} on the screen after {timeout} s:\n{text}")
            time.sleep(0.3)


@unittest.skipUnless(shutil.which("tmux"), "needs tmux")
class SmallTerminalTest(Tmux, unittest.TestCase):
    def test_a_terminal_too_small_gets_one_line_and_an_error(self):
        self.start(f"{sys.executable} ./kata watch 01", ROOT, width=50, height=10)
        text = self.wait_for(r"kata-exit=\d+", 60)
        self.assertIn("kata-exit=2", text)
        self.assertIn("needs a terminal of at least", text)
        self.assertNotIn("Traceback", text)


@unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja") and shutil.which("tmux"),
                     "needs cmake, ninja and tmux")
class StudentLoopEndToEndTest(Tmux, unittest.TestCase):
    """As a student would, on a scratch copy of the course (01 and 02) built once: the watch
    screen under tmux, kata test --all and -k, the plain watch, reset."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = tempfile.TemporaryDirectory(prefix="kata-e2e-")
        cls.copy = copy_course(None, ("01_", "02_"), pathlib.Path(cls.scratch.name))
        configured = kata("test", "01", root=cls.copy)  # configures and builds 01 once for every test
        assert "tests pass" in configured.stdout, configured.stdout + configured.stderr

    @classmethod
    def tearDownClass(cls):
        cls.scratch.cleanup()

    # The tests run in the order of their names; each starts from the state the one before
    # left, so that 01 is rebuilt as rarely as possible (stub, stub, solved, solved).
    def put_back_the_stub(self):
        self.copy_over(ROOT / "exercises/01_cpu_count")
        (self.copy / ".kata" / "hints.json").unlink(missing_ok=True)

    def solve(self):
        self.copy_over(self.copy / "solutions/01_cpu_count")

    def copy_over(self, folder: pathlib.Path):
        for source in folder.glob("*.cpp"):
            target = self.copy / "exercises/01_cpu_count" / source.name
            if target.read_bytes() != source.read_bytes():  # an unchanged file is not rebuilt
                shutil.copy(source, target)

    def test_3_a_key_changes_the_screen_a_save_reruns_a_pass_offers_the_next(self):
        self.put_back_the_stub()
        self.start(f"{sys.executable} ./kata watch 01 --poll", self.copy)
        first = self.wait_for(r"\] 0/\d+ tests pass")
        self.assertIn("01 · How many CPUs", first)
        self.assertIn("What it usually means", first)
        self.assertIn("h hint  n next  l list  r rerun  q quit", first)
        self.tmux("send-keys", "-t", "kata", "h")
        self.wait_for(r"Hint 1 of \d+:")
        self.tmux("send-keys", "-t", "kata", "l")
        listing = self.wait_for("All exercises")
        self.assertRegex(listing, r"01 +How many CPUs.* 0/\d+")
        self.assertIn("02  Pool.map rebuilt", listing)
        self.tmux("send-keys", "-t", "kata", "l")
        self.wait_for(r"kata watch · 01")
        self.solve()  # a save: the screen reruns by itself
        green = self.wait_for(r"01 passes!")
        self.assertRegex(green, r"\] (\d+)/\1 tests pass")
        self.assertIn("Press n for the next exercise: 02 · Pool.map rebuilt", green)
        self.tmux("send-keys", "-t", "kata", "n")
        self.wait_for(r"kata watch · 02 · Pool.map rebuilt")
        self.tmux("send-keys", "-t", "kata", "q")
        done = self.wait_for(r"kata-exit=\d+", 30)
        self.assertIn("kata-exit=0", done)
        self.assertNotIn("Traceback", done)

    def test_1_kata_test_all_and_k(self):
        self.put_back_the_stub()
        every = kata("test", "01", "--all", root=self.copy)
        self.assertEqual(every.returncode, 1)
        total = int(re.search(r"\n0/(\d+) tests pass\n", every.stdout).group(1))
        self.assertEqual(len(re.findall(rf"^\d+/{total} \w+\.\w+", every.stdout, re.M)), total)
        self.assertEqual(every.stdout.count("What it usually means: This is still the stub"), total)
        first = kata("test", "01", root=self.copy)
        self.assertIn(f"--all shows all {total} failures", first.stdout)
        some = kata("test", "01", "-k", "ParseCpuMax", root=self.copy)
        self.assertRegex(some.stdout, r"\n0/3 tests pass\n")
        self.assertNotIn("CpuCountTest", some.stdout)
        none = kata("test", "01", "-k", "NoSuchTest", root=self.copy)
        self.assertEqual(none.returncode, 1)
        self.assertIn("No test of 01_cpu_count matches 'NoSuchTest'", none.stdout)

    def test_2_ctrl_c_is_no_traceback(self):
        self.put_back_the_stub()
        watcher = subprocess.Popen([*KATA[:1], str(self.copy / "kata"), "watch", "01", "--plain", "--poll"],
                                   cwd=self.copy, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                                   env=QUIET, start_new_session=True)
        self.addCleanup(lambda: watcher.poll() is None and os.killpg(watcher.pid, 9))
        for line in watcher.stdout:
            if line.startswith("watching"):
                break
        os.killpg(watcher.pid, 2)  # what Ctrl-C does: SIGINT to the foreground group
        _, err = watcher.communicate(timeout=60)
        self.assertNotIn("Traceback", err)
        self.assertEqual(watcher.returncode, 130, err)

    def test_4_plain_watch_sees_a_reset_bring_the_failure_back(self):
        self.solve()
        copy = self.copy
        watcher = subprocess.Popen([*KATA[:1], str(copy / "kata"), "watch", "01", "--poll", "--max-runs", "2"],
                                   cwd=copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=QUIET)
        self.addCleanup(watcher.kill)
        seen = []
        for line in watcher.stdout:
            seen.append(line)
            if line.startswith("watching"):
                break
        self.assertRegex("".join(seen), r"\n(\d+)/\1 tests pass\n\n01 passes!")
        self.assertIn("Next: 02 · Pool.map rebuilt", "".join(seen))
        time.sleep(1)  # the watcher's first snapshot
        reset_run = kata("reset", "01", "--yes", root=copy)
        self.assertEqual(reset_run.returncode, 0, reset_run.stderr)
        rest, _ = watcher.communicate(timeout=600)
        self.assertEqual(watcher.returncode, 1, "".join(seen) + rest)
        self.assertRegex(rest, r"\n0/\d+ tests pass\n")


if __name__ == "__main__":
    unittest.main()
