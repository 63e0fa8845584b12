"""The student's day: watch (polling), reset, and the status cache."""
import os
import pathlib
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


@unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja"), "needs cmake and ninja")
class WatchEndToEndTest(unittest.TestCase):
    """As a student would: watch 01, save the solution over the stub, see it pass; reset."""

    def test_watch_turns_green_and_reset_brings_the_failure_back(self):
        scratch = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory(prefix="kata-watch-")))
        copy = scratch / "repo"
        at_top = lambda folder, names: {  # noqa: E731
            n for n in names if n in (".git", ".kata", "__pycache__") or (pathlib.Path(folder) == ROOT and n.startswith("build"))}
        shutil.copytree(ROOT, copy, ignore=at_top)
        for manifest in (copy / "exercises").glob("*/exercise.json"):
            if not manifest.parent.name.startswith("01_"):
                manifest.unlink()  # the course is 01 alone
        git = ["git", "-C", str(copy), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "shipped"], check=True)

        env = dict(os.environ, NO_COLOR="1")
        watcher = subprocess.Popen([sys.executable, str(copy / "kata"), "watch", "01", "--poll", "--max-runs", "2"],
                                   cwd=copy, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, env=env)
        self.addCleanup(watcher.kill)
        seen = []
        for line in watcher.stdout:
            seen.append(line)
            if line.startswith("watching"):
                break
        self.assertRegex("".join(seen), r"\n0/\d+ tests pass\n")
        time.sleep(1)  # the watcher's first snapshot
        for solution in (copy / "solutions/01_cpu_count").glob("*.cpp"):
            shutil.copy(solution, copy / "exercises/01_cpu_count" / solution.name)
        rest, _ = watcher.communicate(timeout=600)
        self.assertEqual(watcher.returncode, 0, "".join(seen) + rest)
        self.assertRegex(rest, r"\n(\d+)/\1 tests pass\n\n01 passes!")

        reset_run = subprocess.run([str(copy / "kata"), "reset", "01", "--yes"], cwd=copy, env=env,
                                   capture_output=True, text=True, check=False)
        self.assertEqual(reset_run.returncode, 0, reset_run.stderr)
        again = subprocess.run([str(copy / "kata"), "test", "01"], cwd=copy, env=env,
                               capture_output=True, text=True, check=False)
        self.assertEqual(again.returncode, 1)
        self.assertRegex(again.stdout, r"\n0/\d+ tests pass\n")


if __name__ == "__main__":
    unittest.main()
