"""`kata grade --bench`: the ratio, the turns, the points (the measuring itself is Google Benchmark's)."""
import json
import pathlib
import tempfile
import unittest

from katalib import benchgrade


class BenchGradeTest(unittest.TestCase):
    def test_runs_take_turns_submission_first(self):
        order = []

        def side(name, seconds):
            def run():
                order.append(name)
                return {"BM_a": seconds}
            return run

        mine, theirs = benchgrade.interleave(3, side("submission", 2.0), side("reference", 1.0))
        self.assertEqual(order, ["submission", "reference"] * 3)
        self.assertEqual((mine, theirs), ({"BM_a": [2.0] * 3}, {"BM_a": [1.0] * 3}))

    def test_the_ratio_is_a_geometric_mean_of_medians(self):
        mine = {"BM_a": [2.0, 9.0, 2.0], "BM_b": [0.5, 0.5, 0.4], "BM_only_mine": [1.0]}
        theirs = {"BM_a": [1.0, 1.0, 5.0], "BM_b": [1.0, 1.0, 1.0]}
        self.assertAlmostEqual(benchgrade.ratio_of(mine, theirs), (0.5 * 2.0) ** 0.5)
        self.assertIsNone(benchgrade.ratio_of({"BM_a": [0.0]}, {"BM_a": [1.0]}))
        self.assertIsNone(benchgrade.ratio_of({}, theirs))

    def test_reaching_the_ratio_earns_the_points_and_missing_it_earns_none(self):
        settings = benchgrade.Settings(points=5, ratio=0.8)
        fast = benchgrade.award("02_pool_map", settings, {"BM": [1.2]}, {"BM": [1.0]})
        self.assertEqual((round(fast.ratio, 3), fast.points, fast.max_points), (0.833, 5, 5))
        slow = benchgrade.award("02_pool_map", settings, {"BM": [2.0]}, {"BM": [1.0]})
        self.assertEqual((slow.ratio, slow.points), (0.5, 0))
        self.assertIn("0.50x the reference's speed", slow.summary())
        nothing = benchgrade.award("02_pool_map", settings, {}, {"BM": [1.0]})
        self.assertIsNone(nothing.ratio)
        self.assertIn("no figure", nothing.summary())

    def test_settings_from_grading_json(self):
        with tempfile.TemporaryDirectory() as folder:
            path = pathlib.Path(folder) / "grading.json"
            path.write_text(json.dumps({"bench": {"points": 5, "ratio": 0.8, "exercises": {
                "02_pool_map": {"points": 10, "benchmark": "BM_Map"}}}}))
            settings = benchgrade.load_settings(path)
            self.assertEqual(settings["*"], benchgrade.Settings(points=5, ratio=0.8))
            self.assertEqual(settings["02_pool_map"], benchgrade.Settings(points=10, ratio=0.8, benchmark="BM_Map"))
            path.write_text("{}")
            self.assertEqual(benchgrade.load_settings(path)["*"].points, 0)
            path.write_text("{not json")
            with self.assertRaises(ValueError):
                benchgrade.load_settings(path)


if __name__ == "__main__":
    unittest.main()
