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


class IncludeRuleTest(unittest.TestCase):
    def test_headers_by_name_are_allowed(self):
        for line in ('#include <vector>', '#include <kata/fd.hpp>', '#include "cpu_count.hpp"',
                     '#include <oneapi/tbb/info.h>', '#  include <sys/wait.h>  // waitpid'):
            self.assertIsNone(grade.include_problem(line), line)

    def test_paths_into_the_file_system_are_not(self):
        for line in ('#include "/work/solutions/01_cpu_count/cpu_count.cpp"',
                     '#include "../../solutions/01_cpu_count/cpu_count.cpp"',
                     '#include </etc/shadow>', '#include <../solutions/x.cpp>',
                     '#include SOLUTION_PATH', '#include "cpu_count.cpp"'):
            self.assertIsNotNone(grade.include_problem(line), line)


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
        _write_variant(subs / "hangs", _prepend_to(ONLINE, "for (;;) ::pause();"))
        _write_variant(subs / "fork_bomb", _prepend_to(TBB, "for (;;) ::fork();"))
        _write_variant(subs / "floods", _prepend_to(ONLINE, 'for (;;) std::fputs("flood flood flood\\n", stdout);'))
        _write_variant(subs / "segfaults", _prepend_to(ONLINE, "std::raise(SIGSEGV);"))
        _write_variant(subs / "includes_solution", lambda _, f: f'#include "{f}"\n', every_file=True)
        # A whole repository whose stub is untouched but whose test was "fixed" to pass.
        edits_test = subs / "edits_test"
        shutil.copytree(ROOT / "exercises/01_cpu_count", edits_test / "exercises/01_cpu_count")
        (edits_test / "tests").mkdir()
        (edits_test / "tests/01_cpu_count_test.cpp").write_text(
            '#include <gtest/gtest.h>\nTEST(All, Pass) { SUCCEED(); }\n')
        cls.names = ["correct", "no_compile", "hangs", "fork_bomb", "floods", "segfaults",
                     "includes_solution", "edits_test"]
        config = json.loads((ROOT / "grading.json").read_text())
        config["limits"]["test_timeout_seconds"] = 15
        config["limits"]["processes"] = 128
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

    def tests_of(self, name: str) -> list[dict]:
        return [t for t in self.results[name]["tests"] if t["name"].startswith("01_cpu_count/")]

    def expect_passed(self, name: str, passed: int) -> None:
        tests = self.tests_of(name)
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

    def test_a_hang_loses_only_the_tests_that_hang(self):
        self.expect_passed("hangs", self.total - 2)

    def test_a_fork_bomb_is_contained(self):
        self.expect_passed("fork_bomb", self.total - 2)

    def test_a_flood_of_output_is_cut_off(self):
        self.expect_passed("floods", self.total - 2)
        self.assertLess(max(len(t["output"]) for t in self.results["floods"]["tests"]), 5000)

    def test_a_crash_loses_only_the_tests_that_crash(self):
        self.expect_passed("segfaults", self.total - 2)

    def test_including_the_reference_solution_is_refused(self):
        self.assertEqual(self.score("includes_solution"), 0)
        self.assertIn("not allowed", json.dumps(self.results["includes_solution"]["tests"]))

    def test_editing_a_test_gains_nothing(self):
        self.expect_passed("edits_test", 0)

    def test_nothing_of_the_submissions_survives(self):
        if sandbox.can_switch_user():
            self.assertEqual(sandbox.processes_of(61999), [])
        left = subprocess.run(["pgrep", "-f", "01_cpu_count_test"], capture_output=True, text=True)
        self.assertEqual(left.stdout, "")

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
