"""`kata grade` against small hostile and broken submissions, made here from exercise 01."""
import csv
import io
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

from katalib import course, grade, reports, sandbox

ROOT = course.ROOT
SOLUTION = ROOT / "solutions/01_cpu_count"
ONLINE = "const long count = ::sysconf(_SC_NPROCESSORS_ONLN);"
TBB = "return static_cast<unsigned>(tbb::info::default_concurrency());"


class TestListTest(unittest.TestCase):
    def test_suites_tests_and_parameter_comments(self):
        listing = "Running main() from gtest_main.cc\nSuite.\n  A\n  B\nEvery/P.\n  C/0  # GetParam() = 1\n"
        self.assertEqual(grade.parse_test_list(listing), ["Suite.A", "Suite.B", "Every/P.C/0"])


def _report(name: str, failures=(), status="RUN", result="COMPLETED") -> bytes:
    suite, _, test = name.partition(".")
    body = {"failures": len(failures), "errors": 0, "testsuites": [{"name": suite, "testsuite": [
        {"name": test, "status": status, "result": result,
         "failures": [{"failure": f, "type": ""} for f in failures]}]}]}
    return b"\x1ereport.json\n" + json.dumps(body).encode()


class JudgeTest(unittest.TestCase):
    def judge(self, status, report=b"", flooded=False):
        run = sandbox.Completed(status, b"console: [  PASSED  ] 1 test", report, 0.1, flooded)
        return grade.judge("S.t", run, ["report.json"], 30, 4096, 1000)[:2]

    def test_a_pass_needs_the_report_and_exit_status_zero(self):
        self.assertEqual(self.judge(0, _report("S.t")), ("passed", ""))
        self.assertEqual(self.judge(1, _report("S.t"))[0], "failed")
        self.assertEqual(self.judge(0, b"")[0], "failed")  # exit 0 without a report: _exit(0)
        self.assertEqual(self.judge(-11, b"")[0], "crashed")
        self.assertEqual(self.judge(None, b"")[0], "timeout")
        self.assertEqual(self.judge(None, b"", flooded=True)[0], "failed")

    def test_the_report_must_name_this_test_as_run_and_passed(self):
        self.assertEqual(self.judge(0, _report("S.other"))[0], "failed")
        self.assertEqual(self.judge(0, _report("S.t", ["x.cpp:1\nboom"])), ("failed", ""))
        self.assertEqual(self.judge(0, _report("S.t", status="NOTRUN"))[0], "not run")
        self.assertEqual(self.judge(0, _report("S.t", result="SKIPPED")), ("skipped", ""))
        self.assertEqual(self.judge(1, _report("S.t", result="SKIPPED"))[0], "failed")
        self.assertEqual(self.judge(0, b"\x1ereport.json\nnot json")[0], "failed")

    def test_output_is_cleaned_of_escapes_and_sandbox_paths(self):
        self.assertEqual(grade.clean_text("\x1b[31m/kata/src/tests/x.cpp:3\x1b[0m", "/kata/src"), "tests/x.cpp:3")


class StudentFileTest(unittest.TestCase):
    def setUp(self):
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="kata-files-"))
        (self.folder / "01_x").mkdir()
        self.addCleanup(shutil.rmtree, self.folder)

    def read(self, name):
        return grade.read_student_file(self.folder, "01_x", name)

    def test_a_regular_file_is_taken(self):
        (self.folder / "01_x/a.cpp").write_text("int x;\n")
        self.assertEqual(self.read("a.cpp"), (b"int x;\n", ""))

    def test_symlinks_folders_fifos_and_binaries_are_ignored_with_a_note(self):
        (self.folder / "01_x/link.cpp").symlink_to("/etc/passwd")
        (self.folder / "01_x/dir.cpp").mkdir()
        os.mkfifo(self.folder / "01_x/fifo.cpp")
        (self.folder / "01_x/bin.cpp").write_bytes(b"\x7fELF\0\0")
        for name, says in (("link.cpp", "is a symlink"), ("dir.cpp", "is a folder"),
                           ("fifo.cpp", "is a device, pipe or socket"), ("bin.cpp", "is binary"),
                           ("none.cpp", "missing")):
            data, note = self.read(name)
            self.assertIsNone(data, name)
            self.assertIn(says, note)

    def test_a_symlinked_exercise_folder_is_not_followed(self):
        (self.folder / "02_y").symlink_to(SOLUTION)
        data, note = grade.read_student_file(self.folder, "02_y", "cpu_count.cpp")
        self.assertIsNone(data)
        self.assertIn("not a plain folder", note)


class FallbackTest(unittest.TestCase):
    def test_without_root_it_says_what_is_missing_and_still_runs_with_limits(self):
        box = sandbox.Sandbox(sandbox.Limits(open_files=64), without_root=True)
        self.addCleanup(box.close)
        self.assertEqual(box.mode, "limits")
        self.assertIn("not root", box.missing)
        run = box.run(["sh", "-c", "ulimit -n; echo report >&0"], 30, report=True)
        self.assertEqual((run.status, run.output, run.report), (0, b"64\n", b"report\n"))
        run = box.run(["sleep", "60"], 0.5)
        self.assertTrue(run.timed_out)


@unittest.skipUnless(os.geteuid() == 0 and shutil.which("bwrap") and sandbox._bwrap_works(), "needs root and bwrap")
class NamespaceTest(unittest.TestCase):
    def test_a_run_sees_no_host_and_leaves_nothing(self):
        box = sandbox.Sandbox(sandbox.Limits(tmp_mib=1), 62500)
        self.addCleanup(box.close)
        script = ("ls /home /root /work 2>&1; id -u; dd if=/dev/zero of=/tmp/big bs=1M count=4 2>&1 | head -1; "
                  "(setsid sleep 600 &); kill -STOP $$")
        run = box.run(["sh", "-c", script], 5)
        self.assertTrue(run.timed_out)
        text = run.output.decode()
        self.assertIn("No such file or directory", text)
        self.assertIn(f"{box.uid}\n", text)
        self.assertIn("No space left on device", text)
        self.assertEqual(sandbox.processes_of(box.uid), [])


class UidPoolTest(unittest.TestCase):
    def test_two_claims_get_two_uids_and_a_released_one_is_free_again(self):
        first, second = sandbox.UidClaim(62200, 4), sandbox.UidClaim(62200, 4)
        self.assertNotEqual(first.uid, second.uid)
        first.release()
        third = sandbox.UidClaim(62200, 4)
        self.assertEqual(third.uid, 62200)
        second.release()
        third.release()


def _write_variant(folder: pathlib.Path, edit=None, every_file: bool = False) -> None:
    """exercises/01_cpu_count/ with the reference solution, cpu_count.cpp (or every file)
    edited by `edit(text, file)`."""
    target = folder / "exercises/01_cpu_count"
    target.mkdir(parents=True)
    for file in SOLUTION.glob("*.cpp"):
        text = file.read_text()
        if edit and (every_file or file.name == "cpu_count.cpp"):
            text = edit(text, file)
        (target / file.name).write_text(text)


def _prepend_to(marker: str, code: str):
    def edit(text: str, _file: pathlib.Path) -> str:
        assert marker in text, marker
        return "#include <csignal>\n#include <cstdio>\n" + text.replace(marker, code + "\n  " + marker)
    return edit


@unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja"), "needs cmake and ninja")
class GradeHostileSubmissionsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-grade-test-"))
        os.chmod(cls.scratch, 0o755)
        subs = cls.scratch / "submissions"
        _write_variant(subs / "correct")
        _write_variant(subs / "no_compile", lambda t, _: t + "\nthis is not C++;\n")
        _write_variant(subs / "fork_bomb", _prepend_to(TBB, "for (;;) ::fork();"))
        _write_variant(subs / "floods", _prepend_to(ONLINE, 'for (;;) std::fputs("flood flood flood\\n", stdout);'))
        _write_variant(subs / "includes_solution", lambda _, f: f'#include "{f}"\n', every_file=True)
        # A whole repository whose stub is untouched but whose test was "fixed" to pass.
        edits_test = subs / "edits_test"
        shutil.copytree(ROOT / "exercises/01_cpu_count", edits_test / "exercises/01_cpu_count")
        (edits_test / "tests").mkdir()
        (edits_test / "tests/01_cpu_count_test.cpp").write_text(
            '#include <gtest/gtest.h>\nTEST(All, Pass) { SUCCEED(); }\n')
        cls.names = ["correct", "no_compile", "fork_bomb", "floods", "includes_solution", "edits_test"]
        config = json.loads((ROOT / "grading.json").read_text())
        config["limits"]["test_timeout_seconds"] = 15
        config["limits"]["processes"] = 128
        config["sandbox_uid"] = 62300
        config["limits"]["parallel_tests"] = 2
        (cls.scratch / "grading.json").write_text(json.dumps(config))
        cls.run_ = subprocess.run(
            [sys.executable, str(ROOT / "kata"), "grade", *(str(subs / n) for n in cls.names),
             "--exercises", "01", "--config", str(cls.scratch / "grading.json"),
             "--json", str(cls.scratch / "results.json"), "--csv", str(cls.scratch / "class.csv"),
             "--junit", str(cls.scratch / "junit.xml")],
            capture_output=True, text=True, timeout=1800, env=dict(os.environ, NO_COLOR="1"), check=False)
        # Several submissions: JSON Lines, one Gradescope object per line (issue 14).
        lines = (cls.scratch / "results.json").read_text().splitlines()
        cls.results = {pathlib.Path(r["extra_data"]["submission"]).name: r for r in map(json.loads, lines)}
        test_source = (ROOT / "tests/01_cpu_count_test.cpp").read_text()
        cls.total = sum(line.startswith(("TEST(", "TEST_F(")) for line in test_source.splitlines())

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def score(self, name: str) -> float:
        return self.results[name]["score"]

    def _tests_of(self, name: str) -> list[dict]:
        return [t for t in self.results[name]["tests"] if t["name"].startswith("01_cpu_count/")]

    def expect_passed(self, name: str, passed: int) -> None:
        tests = self._tests_of(name)
        self.assertEqual(len(tests), self.total, self.results[name]["tests"])
        self.assertEqual(sum(t["status"] == "passed" for t in tests), passed, tests)
        self.assertAlmostEqual(self.score(name), round(10 * passed / self.total, 2))

    def test_the_run_succeeds_and_reports_every_submission(self):
        self.assertEqual(self.run_.returncode, 0, self.run_.stderr)
        self.assertEqual(sorted(self.results), sorted(self.names))
        self.assertIn("# Grading report", self.run_.stdout)

    def test_a_correct_submission_gets_full_marks(self):
        self.assertEqual(self.score("correct"), 10)
        self.assertEqual(self.results["correct"]["extra_data"]["max_score"], 10)

    def test_one_that_does_not_compile_scores_zero_with_the_compilers_error(self):
        self.assertEqual(self.score("no_compile"), 0)
        entry = next(t for t in self.results["no_compile"]["tests"] if t["name"].startswith("01_cpu_count"))
        self.assertEqual((entry["name"], entry["max_score"]), ("01_cpu_count (does not compile)", 10))
        self.assertIn("error", entry["output"])

    def test_a_fork_bomb_is_contained(self):
        self.expect_passed("fork_bomb", self.total - 2)

    def test_a_flood_of_output_is_cut_off(self):
        self.expect_passed("floods", self.total - 2)
        self.assertLess(max(len(t["output"]) for t in self.results["floods"]["tests"]), 5000)

    def test_including_the_reference_solution_finds_nothing(self):
        self.assertEqual(self.score("includes_solution"), 0)
        entry = next(t for t in self.results["includes_solution"]["tests"] if t["name"].startswith("01_cpu_count"))
        self.assertEqual(entry["name"], "01_cpu_count (does not compile)")

    def test_editing_a_test_gains_nothing(self):
        self.expect_passed("edits_test", 0)

    def test_nothing_of_the_submissions_survives(self):
        for uid in range(62300, 62308):
            self.assertEqual(sandbox.processes_of(uid), [])

    def test_csv_has_a_row_per_submission(self):
        rows = list(csv.DictReader(io.StringIO((self.scratch / "class.csv").read_text())))
        self.assertEqual(len(rows), len(self.names))
        self.assertEqual({r["submission"].rsplit("/", 1)[-1]: float(r["score"]) for r in rows}["correct"], 10)

    def test_junit_has_a_suite_per_submission_and_exercise(self):
        suites = ElementTree.parse(self.scratch / "junit.xml").getroot().findall("testsuite")
        self.assertEqual(len(suites), len(self.names))


class ReportTest(unittest.TestCase):
    def test_gradescope_shape(self):
        submission = grade.SubmissionGrade("alice", [grade.ExerciseGrade("01_x", 10, True, 3, 4, "T.a failed")])
        data = reports.gradescope(submission)
        self.assertEqual(data["score"], 7.5)
        self.assertEqual(data["extra_data"]["max_score"], 10)
        self.assertIn("| 01_x | 3/4 | 7.5 / 10 |", reports.markdown([submission]))


if __name__ == "__main__":
    unittest.main()
