"""`kata grade --bench` end to end: the reference solution of 01, graded for speed in the sandbox."""
import json
import os
import pathlib
import shutil
import subprocess
import sys
import tempfile
import unittest

ROOT = pathlib.Path(__file__).resolve().parents[2]


@unittest.skipUnless(os.geteuid() == 0, "needs root (the grader's sandbox uid)")
@unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja"), "needs cmake and ninja")
class GradeBenchEndToEndTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-grade-bench-test-"))
        os.chmod(cls.scratch, 0o755)
        submission = cls.scratch / "reference_of_01" / "exercises" / "01_cpu_count"
        submission.mkdir(parents=True)
        for stub in (ROOT / "exercises/01_cpu_count").iterdir():
            taken = ROOT / "solutions/01_cpu_count" / stub.name
            shutil.copy2(taken if taken.is_file() else stub, submission / stub.name)
        config = json.loads((ROOT / "grading.json").read_text())
        config["sandbox_uid"] = 62400  # a pool apart from the other tests'
        # As fast as the reference: a ratio near 1.0, far above 0.5 even on a busy machine.
        config["bench"] = {"points": 5, "ratio": 0.5, "rounds": 1, "min_time": 0.01}
        (cls.scratch / "grading.json").write_text(json.dumps(config))
        cls.run_ = subprocess.run(
            [sys.executable, str(ROOT / "kata"), "grade", str(cls.scratch / "reference_of_01"),
             "--exercises", "01", "--bench", "--config", str(cls.scratch / "grading.json"),
             "--json", str(cls.scratch / "results.json")],
            capture_output=True, text=True, timeout=900, env=dict(os.environ, NO_COLOR="1"), check=False)
        try:
            cls.result = json.loads((cls.scratch / "results.json").read_text())
        except (OSError, ValueError):
            cls.result = {}

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def test_a_ratio_is_measured_and_the_speed_points_awarded(self):
        self.assertEqual(self.run_.returncode, 0, self.run_.stderr[-3000:])
        speed = [t for t in self.result["tests"] if t["name"] == "01_cpu_count speed"]
        self.assertEqual(len(speed), 1, self.result.get("tests"))
        self.assertIn("x the reference's speed", speed[0]["output"])
        self.assertEqual((speed[0]["score"], speed[0]["max_score"]), (5, 5), speed[0]["output"])
        board = self.result["leaderboard"]
        self.assertEqual(board[0]["name"], "01_cpu_count speed (x reference)")
        self.assertGreaterEqual(board[0]["value"], 0.5)
        self.assertIn("01_cpu_count speed", self.run_.stdout)

    def test_nothing_is_left_behind(self):
        left = [p for p in pathlib.Path(tempfile.gettempdir()).glob("kata-bench-*")
                if p.stat().st_uid == 0 and p.stat().st_mtime >= self.scratch.stat().st_ctime]
        self.assertEqual(left, [])


if __name__ == "__main__":
    unittest.main()
