"""`kata verify` must fail when a solution fails or when a stub passes everything."""
import os
import pathlib
import re
import shutil
import subprocess
import tempfile
import unittest

from katalib import course, verify
from katalib.ctest import TestResult

ROOT = course.ROOT


def _not_sources(folder: str, names: list[str]) -> set[str]:
    """What a scratch copy leaves out: git's data, build folders, the front end's state."""
    at_top = pathlib.Path(folder) == ROOT
    return {n for n in names if n in (".git", ".kata", "__pycache__") or (at_top and n.startswith("build"))}


def results(*statuses: str) -> list[TestResult]:
    return [TestResult(f"01_x/T.t{i}", status) for i, status in enumerate(statuses)]


class JudgeTest(unittest.TestCase):
    def test_a_stub_must_fail_at_least_one_test(self):
        self.assertTrue(verify.judge_stub(results("failed", "passed")).ok)
        verdict = verify.judge_stub(results("passed", "passed"))
        self.assertFalse(verdict.ok)
        self.assertIn("cannot fail", verdict.summary)

    def test_a_stub_must_not_hang_or_crash(self):
        self.assertFalse(verify.judge_stub(results("failed", "timeout")).ok)
        self.assertFalse(verify.judge_stub(results("failed", "crashed")).ok)

    def test_a_stub_that_does_not_compile_or_has_no_tests_is_wrong(self):
        self.assertFalse(verify.judge_stub(results("failed"), compiled=False).ok)
        self.assertFalse(verify.judge_stub([]).ok)

    def test_a_solution_must_pass_every_test(self):
        self.assertTrue(verify.judge_solution(results("passed", "passed")).ok)
        self.assertFalse(verify.judge_solution(results("passed", "failed")).ok)
        self.assertFalse(verify.judge_solution(results("passed", "timeout")).ok)
        self.assertFalse(verify.judge_solution([]).ok)


@unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja"), "needs cmake and ninja")
class VerifyEndToEndTest(unittest.TestCase):
    """A real build of exercise 01 in a scratch copy of the repository, tampered with twice:
    its stub replaced by a correct solution, and its solution broken."""

    def test_verify_fails_on_a_passing_stub_and_a_failing_solution(self):
        scratch = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory(prefix="kata-verify-")))
        copy = scratch / "repo"
        shutil.copytree(ROOT, copy, ignore=_not_sources)
        for folder in [*(copy / "exercises").iterdir(), *(copy / "solutions").iterdir()]:
            if folder.is_dir() and not folder.name.startswith("01_"):
                shutil.rmtree(folder)  # the course is 01 alone, worth all the points
        manifest = copy / "exercises/01_cpu_count/exercise.json"
        manifest.write_text(re.sub(r'"weight": \d+', '"weight": 100', manifest.read_text()))

        stub_dir, solution_dir = copy / "exercises/01_cpu_count", copy / "solutions/01_cpu_count"
        for solution in solution_dir.glob("*.cpp"):
            shutil.copy(solution, stub_dir / solution.name)
        broken = solution_dir / "cpu_count.cpp"
        text = broken.read_text()
        self.assertIn("return static_cast<unsigned>(count);", text)
        broken.write_text(text.replace("return static_cast<unsigned>(count);",
                                       "return static_cast<unsigned>(count) + 1;"))

        env = dict(os.environ, NO_COLOR="1")
        run = subprocess.run([str(copy / "kata"), "verify"], cwd=copy, capture_output=True, text=True,
                             env=env, timeout=900, check=False)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertIn("the stub passes all", run.stdout)
        self.assertRegex(run.stdout, r"01_cpu_count\s+FAIL .*cannot fail\s+FAIL \d+/\d+ fail")


if __name__ == "__main__":
    unittest.main()
