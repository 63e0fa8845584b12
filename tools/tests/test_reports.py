"""Reports of `kata grade`, from grades made here with the nastiest output a test can print."""
import csv
import io
import json
import pathlib
import re
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

from katalib import course, intake, reports
from katalib.ctest import TestResult
from katalib.grade import ExerciseGrade, SubmissionGrade

from .schema import SchemaError, validate

WORK = "/tmp/kata-grade-abc123"
SCHEMA = json.loads((pathlib.Path(__file__).parent / "data/gradescope_results.schema.json").read_text())

# What a hostile or just broken test run prints: colours, a fence, pipes, markup, control bytes,
# the grader's own paths, and far too much of it.
NASTY = (
    "\x1b[0;31m[ RUN      ] PoolTest.Maps\x1b[m\n"
    f"{WORK}/src/exercises/02_pool_map/pool_map.cpp:42: Failure\n"
    "map() returned the wrong values | for 3 workers\n"
    "```\n</pre><script>alert(1)</script> & \"quotes\" <xml/>\n"
    "\x00\x01\x07bell\x08\x7f\x9b\r\n"
    f"see {WORK}/src/tests/02_pool_map_test.cpp and {WORK}/build/02_pool_map_test\n"
    "[NON-XML-CHAR-0x1B][1;31mwhat ctest's JUnit makes of colours[NON-XML-CHAR-0x1B][m\n"
    "\x1b]0;title\x07\x1b[2J" + "flood " * 9000 + "\n"
    "[  FAILED  ] PoolTest.Maps (12 ms)\n"
)


def _exercise_02() -> ExerciseGrade:
    tests = [TestResult("02_pool_map/PoolTest.Starts", "passed", 0.01, 1),
             TestResult("02_pool_map/PoolTest.Maps", "failed", 0.02, 2, output=NASTY),
             TestResult("02_pool_map/PoolTest.Hangs", "timeout", 30.0, 3, "hit ctest's deadline",
                        output="[ RUN      ] PoolTest.Hangs\n"),
             TestResult("02_pool_map/PoolTest.Crashes", "crashed", 0.1, 4, "SegFault",
                        output="[ RUN      ] PoolTest.Crashes\n\x1b[31mboom\x1b[0m\n")]
    return ExerciseGrade("02_pool_map", 15, True, 1, 4, "first", ["pool_map.cpp | `weird` note"], tests)


def _exercise_09() -> ExerciseGrade:
    tests = [TestResult(f"09_mpi_map/{ranks}_ranks/MpiMapTest.Maps", "passed" if ranks < 4 else "failed",
                        0.5, ranks, output="" if ranks < 4 else
                        "[ RUN      ] MpiMapTest.Maps\n\x1b[1;31mrank 3 got 7 items, expected 8\x1b[0m\n")
             for ranks in (1, 2, 4, 8)]
    return ExerciseGrade("09_mpi_map", 5, True, 2, 4, "", [], tests)


def _no_compile() -> ExerciseGrade:
    return ExerciseGrade("05_simd", 10, False, 0, 0,
                         f"{WORK}/src/exercises/05_simd/simd.cpp:3:1: error: 'x' does not name a type\n"
                         "```` fence ````")


def _submission() -> SubmissionGrade:
    return SubmissionGrade("=cmd|' /C calc'!A0 <alice>", [_exercise_02(), _exercise_09(), _no_compile()], 42.0,
                           work_dir=WORK, problems=["exercises/02_pool_map/extra.cpp is a symlink: ignored"])


class CleanTest(unittest.TestCase):
    def test_escapes_controls_and_grader_paths_go(self):
        text = reports.clean(NASTY, WORK)
        self.assertNotIn("\x1b", text)
        self.assertNotIn("kata-grade", text)
        self.assertIsNone(re.search("[\x00-\x08\x0b-\x1f\x7f-\x9f]", text))
        self.assertIn("pool_map.cpp:42: Failure", text)
        self.assertIn("see tests/02_pool_map_test.cpp and build/02_pool_map_test", text)

    def test_ctests_placeholders_for_escapes_go_too(self):
        # What ctest's JUnit file holds for 09's coloured output.
        text = "[NON-XML-CHAR-0x1B][0;32m[ RUN      ] [NON-XML-CHAR-0x1B][mMpiTest.X\n[NON-XML-CHAR-0x7][rank 1] x"
        self.assertEqual(reports.clean(text), "[ RUN      ] MpiTest.X\n[rank 1] x")

    def test_any_work_folder_is_recognised_without_being_told(self):
        self.assertEqual(reports.clean("/var/tmp/x/kata-grade-q_1/src/exercises/01_cpu_count/a.cpp:1"),
                         "a.cpp:1")
        self.assertEqual(reports.clean("/tmp/kata-bench-q1/student/src/exercises/01_cpu_count/a.cpp:1"),
                         "a.cpp:1")

    def test_the_first_line_that_says_something(self):
        self.assertEqual(reports._first_line("unknown file: Failure\nC++ exception thrown"), "C++ exception thrown")
        self.assertEqual(reports._first_line("x.cpp:4: Failure\n\n  said this"), "said this")
        self.assertEqual(reports._first_line("x.cpp:4: Failure\nExpected equality of these values:\n  a()"), "a()")
        self.assertEqual(reports._first_line("[----------] set-up\n[ RUN      ] T.x\nsaid"), "said")
        self.assertEqual(reports._first_error("FAILED: a.o\n/usr/bin/c++ -c a.cpp\na.cpp:1:10: fatal error: x: No such file"),
                         "a.cpp:1:10: fatal error: x: No such file")
        # GoogleTest's JSON report puts the location alone on the first line, without ": Failure".
        self.assertEqual(reports._first_line("unknown file\nC++ exception with description \"no\""),
                         'C++ exception with description "no"')
        self.assertEqual(reports._first_line("tests/03_test.cpp:218\nthe child was not reaped"),
                         "the child was not reaped")


class ReportsOfHostileOutputTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        submission = _submission()
        cls.markdown = reports.markdown([submission])
        cls.results = reports.gradescope(submission)
        cls.junit = reports.junit([submission])
        cls.class_csv = reports.class_csv([submission])
        cls.tests_csv = reports.tests_csv([submission])
        cls.everything = [cls.markdown, json.dumps(cls.results, ensure_ascii=False), cls.junit,
                          cls.class_csv, cls.tests_csv]

    def test_no_report_carries_an_escape_a_control_byte_or_a_grader_path(self):
        for text in self.everything:
            self.assertNotIn("\x1b", text)
            self.assertNotIn(WORK, text)
            self.assertNotIn("kata-grade", text)
            self.assertNotIn("NON-XML-CHAR", text)
            self.assertIsNone(re.search("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]", text))

    def test_a_flood_is_cut(self):
        for text in self.everything:
            self.assertLess(len(text), 40_000)
        maps = next(t for t in self.results["tests"] if t["name"] == "02_pool_map/PoolTest.Maps")
        self.assertIn("more characters cut", maps["output"])

    def test_a_grading_without_full_isolation_says_so_first(self):
        submission = _submission()
        submission.isolation = "bubblewrap is not installed"
        self.assertIn("graded without full isolation: bubblewrap is not installed",
                      reports.markdown([submission]).split("| exercise |")[0])
        first = reports.gradescope(submission)["tests"][0]
        self.assertEqual((first["name"], first["max_score"]), ("submission", 0))
        self.assertIn("graded without full isolation", first["output"])

    def test_an_exercises_notes_are_an_entry_of_their_own(self):
        notes = next(t for t in self.results["tests"] if t["number"] == "02.0")
        self.assertEqual((notes["score"], notes["max_score"]), (0, 0))
        self.assertIn("pool_map.cpp | `weird` note", notes["output"])

    def test_gradescope_has_one_entry_per_test_with_its_own_message(self):
        validate(self.results, SCHEMA)
        names = [t["name"] for t in self.results["tests"]]
        self.assertIn("02_pool_map/PoolTest.Maps", names)
        self.assertIn("09_mpi_map/4_ranks/MpiMapTest.Maps", names)
        self.assertIn("09_mpi_map/8_ranks/MpiMapTest.Maps", names)
        maps = next(t for t in self.results["tests"] if t["name"] == "02_pool_map/PoolTest.Maps")
        self.assertEqual(maps["status"], "failed")
        self.assertEqual(maps["number"], "02.2")
        self.assertIn("map() returned the wrong values | for 3 workers", maps["output"])
        rank4 = next(t for t in self.results["tests"] if t["name"] == "09_mpi_map/4_ranks/MpiMapTest.Maps")
        self.assertEqual(rank4["output"], "rank 3 got 7 items, expected 8")
        crash = next(t for t in self.results["tests"] if t["name"].startswith("02_pool_map/PoolTest.Crashes"))
        self.assertIn("crashed (SegFault)", crash["output"])
        self.assertEqual(self.results["stdout_visibility"], "hidden")
        self.assertNotIn("leaderboard", self.results)

    def test_points_are_split_over_the_tests(self):
        pool = [t for t in self.results["tests"] if t["name"].startswith("02_pool_map/")]
        self.assertEqual([t["max_score"] for t in pool], [3.75] * 4)
        self.assertEqual([t["score"] for t in pool], [3.75, 0, 0, 0])
        self.assertEqual(self.results["score"], 3.75 + 2.5)
        self.assertEqual(self.results["extra_data"]["max_score"], 30)
        simd = next(t for t in self.results["tests"] if t["name"].startswith("05_simd"))
        self.assertEqual((simd["score"], simd["max_score"], simd["status"]), (0, 10, "failed"))
        self.assertIn("simd.cpp:3:1: error", simd["output"])

    def test_markdown_fences_cannot_be_closed_by_the_message(self):
        fences = re.findall(r"^(`{3,})text$", self.markdown, re.MULTILINE)
        self.assertTrue(fences)
        for fence in fences:
            # Every block opened is closed by the same fence, and no shorter run ends it early.
            self.assertIn("\n" + fence + "\n", self.markdown)
        self.assertIn("`````text", self.markdown)  # the compiler output holds a run of four

    def test_markdown_tables_keep_their_columns(self):
        for line in self.markdown.splitlines():
            if line.startswith("| "):
                cells = re.split(r"(?<!\\)\|", line)
                self.assertIn(len(cells), (6, 7), line)
        outside_blocks = re.sub(r"^(`{3,})text\n.*?\n\1$", "", self.markdown, flags=re.MULTILINE | re.DOTALL)
        self.assertNotIn("<script>", outside_blocks)
        self.assertIn("<script>", self.markdown)  # inside a block, where it is only text
        self.assertIn("symlink", self.markdown)

    def test_junit_parses_and_every_testcase_has_name_classname_and_time(self):
        root = ElementTree.fromstring(self.junit)
        cases = list(root.iter("testcase"))
        self.assertEqual(len(cases), 4 + 4 + 1)
        for case in cases:
            self.assertTrue(case.get("name"))
            self.assertTrue(case.get("classname"))
            float(case.get("time"))
        rank4 = next(c for c in cases if c.get("classname") == "09_mpi_map.4_ranks")
        self.assertEqual(rank4.get("name"), "MpiMapTest.Maps")
        self.assertIn("rank 3 got 7 items", rank4.find("failure").text)
        self.assertIsNotNone(next(c for c in cases if c.get("name") == "PoolTest.Hangs").find("error"))

    def test_csv_cells_are_not_formulas(self):
        rows = list(csv.reader(io.StringIO(self.class_csv)))
        self.assertEqual(rows[0][:3], ["submission", "score", "max_score"])
        self.assertTrue(rows[1][0].startswith("'="))
        rows = list(csv.DictReader(io.StringIO(self.tests_csv)))
        self.assertEqual(len(rows), 9)
        self.assertEqual(rows[1]["status"], "failed")
        self.assertIn("wrong values", rows[1]["message"])


class SkippedTest(unittest.TestCase):
    """A test that skips itself ("needs 3 ranks") does not apply: it earns nothing and costs
    nothing. Counted as passed, it gave every submission, the stub included, its points."""

    def setUp(self):
        tests = [TestResult("09_mpi_map/1_ranks/MpiTest.Maps", "failed", 0.4, 1, output="wrong"),
                 TestResult("09_mpi_map/1_ranks/MpiTest.NeedsThreeRanks", "skipped", 0.4, 2,
                            output="the test skipped itself here (GTEST_SKIP): it carries no points"),
                 TestResult("09_mpi_map/4_ranks/MpiTest.Maps", "failed", 0.4, 3, output="wrong"),
                 TestResult("09_mpi_map/4_ranks/MpiTest.NeedsThreeRanks", "failed", 0.4, 4, output="wrong")]
        self.stub = SubmissionGrade("stub", [ExerciseGrade("09_mpi_map", 6, True, 0, 3, "", [], tests)],
                                    work_dir=WORK)

    def test_a_skipped_test_carries_no_points_and_the_rest_share_them(self):
        lines = reports.test_lines(self.stub.exercises[0], WORK)
        self.assertEqual([(l.status, l.score, l.max_score) for l in lines],
                         [("failed", 0, 2), ("skipped", 0, 0), ("failed", 0, 2), ("failed", 0, 2)])
        self.assertEqual(self.stub.score, 0)
        results = reports.gradescope(self.stub)
        validate(results, SCHEMA)
        self.assertEqual(results["score"], 0)
        skipped = next(t for t in results["tests"] if "NeedsThreeRanks" in t["name"] and "1_ranks" in t["name"])
        self.assertEqual((skipped["name"][-9:], skipped["score"], skipped["max_score"]), ("(skipped)", 0, 0))

    def test_it_is_never_the_first_failure_and_junit_calls_it_skipped(self):
        self.assertIn("| 09_mpi_map | 0/3 | 0 / 6 | 1_ranks/MpiTest.Maps:", reports.markdown([self.stub]))
        case = next(c for c in ElementTree.fromstring(reports.junit([self.stub])).iter("testcase")
                    if c.get("classname") == "09_mpi_map.1_ranks" and c.get("name") == "MpiTest.NeedsThreeRanks")
        self.assertIsNotNone(case.find("skipped"))


class SchemaTest(unittest.TestCase):
    """The schema and its validator refuse what Gradescope does not document (checked once against
    python3-jsonschema 4.10: the same verdicts)."""

    def test_undocumented_or_wrong_keys_are_refused(self):
        good = reports.gradescope(_submission())
        validate(good, SCHEMA)
        bad = [dict(good, max_score=30), dict(good, stdout_visibility="shown"), {"output": "no score"},
               dict(good, tests=[dict(good["tests"][0], status="error")]),
               dict(good, tests=[dict(good["tests"][0], number=2.5)]),
               dict(good, leaderboard=[{"name": "speed"}])]
        for value in bad:
            with self.assertRaises(SchemaError):
                validate(value, SCHEMA)


class BenchInReportsTest(unittest.TestCase):
    def test_speed_points_and_the_leaderboard(self):
        from katalib.benchgrade import BenchGrade

        submission = _submission()
        submission.bench = [BenchGrade("02_pool_map", 0.9, 5, 5, 0.8, "BM_Map")]
        results = reports.gradescope(submission)
        validate(results, SCHEMA)
        self.assertEqual(results["leaderboard"], [{"name": "02_pool_map speed (x reference)", "value": 0.9,
                                                   "order": "desc"}])
        self.assertEqual(results["score"], 3.75 + 2.5 + 5)
        self.assertEqual(results["extra_data"]["max_score"], 35)
        self.assertIn("speed", reports.markdown([submission]))


class IntakeTest(unittest.TestCase):
    """One line for each thing the grader cannot take from a submission."""

    def setUp(self):
        self.folder = pathlib.Path(tempfile.mkdtemp(prefix="kata-intake-"))
        self.exercise = course.find("01")
        self.addCleanup(__import__("shutil").rmtree, self.folder, True)

    def problems(self, path: pathlib.Path) -> list[str]:
        return intake.problems(path, [self.exercise])

    def test_no_folder_no_exercises_a_file(self):
        self.assertEqual(self.problems(self.folder / "nobody"), ["nobody is not a folder (or does not exist): "
                                                                  "nothing graded"])
        (self.folder / "empty").mkdir()
        self.assertIn("has no exercises/ folder", self.problems(self.folder / "empty")[0])

    def test_each_bad_stub_is_one_line(self):
        stubs = self.folder / "sub/exercises/01_cpu_count"
        stubs.mkdir(parents=True)
        (stubs / "cpu_count.cpp").symlink_to("/etc/passwd")
        (stubs / "cgroup_quota.cpp").mkdir()
        self.assertEqual(self.problems(self.folder / "sub"), [
            "exercises/01_cpu_count/cgroup_quota.cpp is a folder, not a file: the shipped stub was graded",
            "exercises/01_cpu_count/cpu_count.cpp is a symbolic link, not a file: the shipped stub was graded"])
        (stubs / "cgroup_quota.cpp").rmdir()
        (stubs / "cpu_count.cpp").unlink()
        (stubs / "cpu_count.cpp").write_bytes(b"\x7fELF\x02\x01\x01\0\0\0")
        self.assertEqual(self.problems(self.folder / "sub"), [
            "exercises/01_cpu_count/cgroup_quota.cpp is missing: the shipped stub was graded",
            "exercises/01_cpu_count/cpu_count.cpp is a binary file, not C++ source"])

    def test_a_good_submission_has_none(self):
        stubs = self.folder / "sub/01_cpu_count"
        stubs.mkdir(parents=True)
        for stub in self.exercise.stub_files:
            (stubs / stub.name).write_text(stub.read_text() + "// été\n")
        self.assertEqual(self.problems(self.folder / "sub"), [])


if __name__ == "__main__":
    unittest.main()
