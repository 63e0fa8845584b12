"""Reading ctest's console and JUnit output, and what failures usually mean."""
import unittest

from katalib import ctest, lessons

CONSOLE = """\
Test project /tmp/b
    Start 1: 01_cpu_count/A.Hangs
1/4 Test #2: 01_cpu_count/A.Crashes .............***Exception: SegFault  0.00 sec
2/4 Test #3: 01_cpu_count/A.Passes ..............   Passed    0.01 sec
3/4 Test #4: 01_cpu_count/A.Fails ...............***Failed    0.02 sec
4/4 Test #1: 01_cpu_count/A.Hangs ...............***Timeout  60.01 sec

25% tests passed, 3 tests failed out of 4
"""

JUNIT = """<?xml version="1.0" encoding="UTF-8"?>
<testsuite tests="2">
  <testcase name="01_cpu_count/A.Fails" status="fail"><failure message=""/>
    <system-out>[ RUN      ] A.Fails
x.cpp:3: Failure
leaked child processes: 123 (zombie: never reaped)
[  FAILED  ] A.Fails (1 ms)
</system-out></testcase>
  <testcase name="01_cpu_count/A.Passes" status="run"><system-out>ok</system-out></testcase>
</testsuite>
"""


class CtestTest(unittest.TestCase):
    def test_console_lines_give_each_status(self):
        results = ctest.parse_console(CONSOLE)
        self.assertEqual(results["01_cpu_count/A.Passes"].status, "passed")
        self.assertEqual(results["01_cpu_count/A.Fails"].status, "failed")
        self.assertEqual(results["01_cpu_count/A.Hangs"].status, "timeout")
        self.assertEqual(results["01_cpu_count/A.Crashes"].status, "crashed")
        self.assertEqual(results["01_cpu_count/A.Crashes"].detail, "SegFault")
        self.assertEqual(results["01_cpu_count/A.Hangs"].number, 1)
        self.assertEqual(results["01_cpu_count/A.Fails"].exercise, "01_cpu_count")
        self.assertEqual(results["01_cpu_count/A.Fails"].short_name, "A.Fails")

    def test_an_aborted_test_is_a_crash(self):
        line = "1/1 Test #5: 11_x/TestBinary.ListsItsTests .......Subprocess aborted***Exception:   0.27 sec"
        result = ctest.parse_console(line)["11_x/TestBinary.ListsItsTests"]
        self.assertEqual((result.status, result.detail, result.seconds), ("crashed", "Subprocess aborted", 0.27))

    def test_junit_gives_each_output(self):
        outputs = ctest.parse_junit_outputs(JUNIT)
        self.assertIn("leaked child processes", outputs["01_cpu_count/A.Fails"])
        self.assertEqual(outputs["01_cpu_count/A.Passes"], "ok")

    def test_failure_excerpt_is_the_body_of_the_failed_test(self):
        excerpt = ctest.failure_excerpt(ctest.parse_junit_outputs(JUNIT)["01_cpu_count/A.Fails"])
        self.assertEqual(excerpt, "leaked child processes: 123 (zombie: never reaped)\nx.cpp:3: Failure")

    def test_lessons_explain_the_classic_mistakes(self):
        failed = ctest.TestResult("e/A.Fails", "failed", output="leaked child processes: 1")
        self.assertIn("waitpid", lessons.explain(failed))
        # A timeout means something different in each exercise: no course-wide guess.
        self.assertIsNone(lessons.explain(ctest.TestResult("e/A.Hangs", "timeout")))
        self.assertIn("gdb", lessons.explain(ctest.TestResult("e/A.B", "crashed", detail="SegFault")))
        self.assertIsNone(lessons.explain(ctest.TestResult("e/A.B", "failed", output="1 != 2")))


if __name__ == "__main__":
    unittest.main()
