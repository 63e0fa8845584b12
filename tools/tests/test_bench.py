"""`kata bench`'s report code on recorded inputs: nothing here times anything.

tools/tests/data/bench/ holds a real run, trimmed (Google Benchmark JSON of 02,
04 and 09 on 8 ranks, kept as bench.raw_name() names it, and the Python cells' JSON lines, NumPy skipped); the
expected figures below are read off those files.
"""
import json
import os
import pathlib
import subprocess
import tempfile
import unittest
import xml.etree.ElementTree as ElementTree

from katalib import bench, cells, charts, course, gbench, machine, svg

DATA = pathlib.Path(__file__).parent / "data"
RECORDED = DATA / "bench"
SVG_NS = "{http://www.w3.org/2000/svg}"
SLEEPY_8 = "04_sleepy_workload:BM_processes/items:1000/workers:8/iterations:1/real_time"


def recorded() -> cells.Figures:
    return bench.load_recorded(RECORDED)


def catalogue() -> cells.Catalogue:
    return cells.Catalogue.load(course.ROOT)


def cell(cell_id: str) -> dict:
    return next(c for c in catalogue().cells if c["id"] == cell_id)


class GoogleBenchmarkJsonTest(unittest.TestCase):
    def test_the_median_is_kept_not_the_mean(self):
        figures = gbench.parse((RECORDED / "04_sleepy_workload.json").read_text())
        figure = figures["BM_processes/items:1000/workers:8/iterations:1/real_time"]
        self.assertAlmostEqual(figure.seconds, 1.2848256360002779)  # the median, in ms in the file
        self.assertEqual(figure.repetitions, 3)
        self.assertAlmostEqual(figure.counters["ideal_ms"], 1280.6142499999999)

    def test_a_single_run_is_its_own_figure(self):
        figures = gbench.parse((DATA / "gbench_one_repetition.json").read_text())
        self.assertEqual(list(figures), ["BM_online_cpus"])
        self.assertAlmostEqual(figures["BM_online_cpus"].seconds, 21132.672313714105e-9)

    def test_a_suffix_tells_apart_runs_of_the_same_binary(self):
        figures = gbench.parse((RECORDED / "09_mpi_map@ranks=8.json").read_text(), "/ranks:8")
        self.assertEqual(list(figures), ["BM_sleepy_static/iterations:2/real_time/ranks:8"])

    def test_text_around_the_json_is_ignored_and_errors_are_kept(self):
        text = ('{"benchmarks": [{"name": "BM_x", "run_name": "BM_x", "run_type": "iteration",'
                ' "error_occurred": true, "error_message": "map not implemented"}]}\n== mpiexec -n 2\n')
        figure = gbench.parse(text)["BM_x"]
        self.assertEqual(figure.error, "map not implemented")

    def test_the_filter_matches_exactly_the_names_given(self):
        import re

        pattern = re.compile(gbench.name_filter(["BM_a/8/real_time", "BM_b"]))
        self.assertTrue(pattern.match("BM_a/8/real_time"))
        self.assertTrue(pattern.match("BM_b"))
        self.assertFalse(pattern.match("BM_a/80/real_time"))
        self.assertFalse(pattern.match("BM_bb"))


class TableTest(unittest.TestCase):
    def rows(self, cell_id: str, exercises=("02_pool_map", "04_sleepy_workload", "09_mpi_map")):
        table = cells.build_table(cell(cell_id), recorded(), list(exercises))
        return table, {row.label: row for row in table.rows}

    def test_the_ratio_is_the_python_figure_over_the_cpp_figure(self):
        _, rows = self.rows("square_pool")
        row = rows["ProcessPool(8): start, map, stop"]
        self.assertAlmostEqual(row.value.number, 2.42921015384704e-3)
        self.assertAlmostEqual(row.ratio, 0.07382370100003754 / 2.42921015384704e-3)
        self.assertEqual(row.versus, "Pool(8): start, map, stop")
        self.assertAlmostEqual(rows["Pool(8): start, map, stop"].ratio, 1.0)

    def test_scale_and_counters_are_applied(self):
        _, rows = self.rows("sleepy")
        self.assertAlmostEqual(rows["loop"].value.number, 10.375061259996983)  # 100 items, x10
        self.assertEqual(rows["loop"].value.note, "100 items run, time x10")
        self.assertAlmostEqual(rows["ideal_time, 8 workers, C++'s sleeps"].value.number, 1.2806142499999999)
        self.assertAlmostEqual(rows["mpi_map, 8 ranks"].value.number, 1.393301779999092)
        pool8 = 1.6341034910001326
        self.assertAlmostEqual(rows["run_processes, 8 workers"].ratio, pool8 / 1.2848256360002779)
        self.assertLess(rows["list(map(...))"].ratio, 1)  # the sequential loop is slower than Pool(8)

    def test_rows_of_exercises_not_asked_for_are_left_out_and_named(self):
        table, rows = self.rows("sleepy", exercises=["04_sleepy_workload"])
        self.assertNotIn("mpi_map, 8 ranks", rows)
        self.assertIn("09_mpi_map", table.left_out)
        self.assertIn("Pool(8).map", rows)  # Python rows always

    def test_a_missing_benchmark_is_a_row_without_a_figure_that_says_why(self):
        _, rows = self.rows("sleepy")
        self.assertFalse(rows["run_tbb, 100 threads"].value.ok)  # trimmed out of the recording
        self.assertIn("no benchmark BM_tbb/items:1000/threads:100", rows["run_tbb, 100 threads"].value.note)
        self.assertIsNone(rows["run_tbb, 100 threads"].ratio)

    def test_a_benchmark_that_stopped_says_why_in_its_rows(self):
        figures = recorded()
        figures.benchmarks["02_pool_map"] = {}
        figures.failures["02_pool_map"] = "02_pool_map_bench stopped (killed by SIGABRT): not implemented\nmore"
        rows = {r.label: r for r in cells.build_table(cell("square_pool"), figures, ["02_pool_map"]).rows}
        self.assertEqual(rows["ProcessPool(8): start, map, stop"].value.note,
                         "02_pool_map_bench stopped (killed by SIGABRT): not implemented")

    def test_without_numpy_the_ratio_falls_back_to_the_next_baseline(self):
        table = cells.build_table(cell("numpy"), recorded(), ["05_simd"])
        rows = {row.label: row for row in table.rows}
        self.assertIn("NumPy is not installed", rows["np.square(data)"].value.note)
        self.assertEqual(rows["list(map(square, data))"].ratio, 1.0)

    def test_a_rate_cell_divides_the_other_way(self):
        figures = cells.Figures(python={"queues/producers_1": {"seconds": 0.5, "items": 20000}})
        figures.benchmarks["08_queues"] = {
            "BM_PipeQueue/producers:1/real_time": gbench.Figure("p", 0.1, {"items_per_second": 400000.0})}
        rows = {r.label: r for r in cells.build_table(cell("queues"), figures, ["08_queues"]).rows}
        self.assertAlmostEqual(rows["multiprocessing.Queue, 1 producer"].value.number, 40000)
        self.assertAlmostEqual(rows["PipeQueue, 1 producer"].ratio, 10.0)

    def test_a_table_against_several_python_rows_marks_each_baseline(self):
        figures = cells.Figures(python={f"queues/producers_{n}": {"seconds": 0.5, "items": 20000} for n in (1, 4)})
        figures.benchmarks["08_queues"] = {
            f"BM_PipeQueue/producers:{n}/real_time": gbench.Figure("p", 0.1, {"items_per_second": 8e4 * n})
            for n in (1, 4)}
        table = cells.build_table(cell("queues"), figures, ["08_queues"])
        texts = {r.label: bench._ratio_text(table, r) for r in table.rows}
        self.assertEqual(texts["multiprocessing.Queue, 4 producers"], "1x (the baseline below)")
        self.assertEqual(texts["PipeQueue, 4 producers"], "8x faster")  # 320k against its own 40k, not the 1's
        self.assertEqual(texts["PipeQueue, 1 producer"], "2x faster")

    def test_a_benchmark_timed_in_turns_is_compared_with_its_own_limit(self):
        turns = "BM_notebook_cell_in_turns_with_bare_forks/manual_time"
        figures = cells.Figures()
        figures.benchmarks["02_pool_map"] = {turns: gbench.Figure(turns, 0.013, {"limit": 0.010, "x_limit": 1.3})}
        table = cells.build_table(cell("pool_against_forks"), figures, ["02_pool_map"])
        limit, pool = table.rows
        self.assertAlmostEqual(limit.value.number, 0.010)  # the counter, not the benchmark's time
        self.assertAlmostEqual(pool.value.number, 0.013)
        self.assertAlmostEqual(pool.ratio, 0.010 / 0.013)
        self.assertEqual(pool.versus, limit.label)
        self.assertIn(f"| {pool.label} | C++ processes | 13 ms | 1.3x slower |", bench.markdown_table(table))

    def test_markdown_has_a_line_per_row(self):
        table, _ = self.rows("sleepy")
        text = bench.markdown_table(table)
        self.assertEqual(text.count("\n| "), len(table.rows) + 2)  # the header and its rule too
        self.assertIn("| run_processes, 8 workers | C++ processes | 1.28 s | 1.27x faster |", text)


class FormatTest(unittest.TestCase):
    def test_seconds_read_in_the_unit_that_suits(self):
        self.assertEqual(cells.format_seconds(0.000139), "139 µs")
        self.assertEqual(cells.format_seconds(1.3512), "1.35 s")
        self.assertEqual(cells.format_seconds(9.9996e-7), "1 µs")
        self.assertEqual(cells.format_seconds(3.2e-9), "3.2 ns")

    def test_ratios_read_as_faster_or_slower(self):
        self.assertEqual(cells.format_ratio(12.04), "12x faster")
        self.assertEqual(cells.format_ratio(0.25), "4x slower")
        self.assertEqual(cells.format_ratio(1.0), "1x")
        self.assertEqual(cells.format_ratio(None), "")

    def test_rates_get_a_prefix(self):
        self.assertEqual(cells.format_rate(123456, "msg/s"), "123 kmsg/s")


class ChartTest(unittest.TestCase):
    def chart(self, chart_id: str) -> dict:
        return next(c for c in catalogue().charts if c["id"] == chart_id)

    def parse(self, text: str) -> ElementTree.Element:
        return ElementTree.fromstring(text)  # raises on anything that is not well-formed XML

    def test_the_speedup_chart_has_a_point_per_figure_and_the_ideal_line(self):
        text, shown = charts.draw(self.chart("sleepy_speedup"), recorded())
        svg_root = self.parse(text)
        points = [e for e in svg_root.iter(f"{SVG_NS}circle") if e.get("class") == "point"]
        # ideal 2, 8, 100; processes 2, 8, 100; oneTBB 8; MPI 8; Python Pool(8) 8
        self.assertEqual(len(points), 9)
        self.assertEqual(shown, 9)
        lines = [e for e in svg_root.iter(f"{SVG_NS}polyline")]
        self.assertEqual(len(lines), 2)  # ideal and processes: the others have one point
        self.assertIn("6 4", lines[0].get("stroke-dasharray", ""))  # ideal is dashed

    def test_speedup_is_the_sequential_time_over_the_time(self):
        series = {s.label: s for s in charts.speedup_series(self.chart("sleepy_speedup"), recorded())}
        x, y, _ = next(p for p in series["C++ processes"].points if p[0] == 8)
        self.assertAlmostEqual(y, 10.375061259996983 / 1.2848256360002779)
        self.assertEqual(sorted(p[0] for p in series["ideal"].points), [2, 8, 100])

    def test_points_sit_higher_for_a_larger_speedup(self):
        series = [svg.Series("s", [(2, 1.0, "a"), (8, 4.0, "b"), (32, 16.0, "c")])]
        circles = [e for e in self.parse(svg.line_chart("t", "x", "y", series)).iter(f"{SVG_NS}circle")]
        heights = [float(c.get("cy")) for c in circles]
        self.assertEqual(heights, sorted(heights, reverse=True))  # SVG's y grows downwards

    def test_a_bar_chart_has_a_bar_per_figure_in_proportion(self):
        bars = [svg.Bar("memcpy", 10e9, "10 GB/s", "limit"), svg.Bar("scalar", 5e9, "5 GB/s"),
                svg.Bar("simd <&>", 2.5e9, "2.5 GB/s")]
        root = self.parse(svg.bar_chart("t", "B/s", bars))
        rects = [e for e in root.iter(f"{SVG_NS}rect") if e.get("class") == "bar"]
        self.assertEqual(len(rects), 3)
        widths = [float(r.get("width")) for r in rects]
        self.assertAlmostEqual(widths[0] / widths[1], 2.0, places=1)
        self.assertAlmostEqual(widths[1] / widths[2], 2.0, places=1)

    def test_the_ladder_draws_only_the_figures_it_has(self):
        figures = cells.Figures()
        figures.benchmarks["03_ipc_overhead"] = {
            "BM_map_sequential/1000000/real_time": gbench.Figure("a", 4e-3, {"per_item": 4e-9}),
        }
        figures.benchmarks["02_pool_map"] = {"BM_million_pool/chunk:1/real_time": gbench.Figure("b", 17, {})}
        text, shown = charts.draw(self.chart("ipc_ladder"), figures)
        self.assertEqual(shown, 2)
        self.assertEqual(sum(e.get("class") == "bar" for e in self.parse(text).iter(f"{SVG_NS}rect")), 2)

    def test_charts_are_written_where_the_report_links_them(self):
        with tempfile.TemporaryDirectory() as folder:
            written = charts.write(catalogue().charts, recorded(), pathlib.Path(folder))
            # No 03 or 05 recorded: the SIMD chart is left out, the ladder has 02's rungs only.
            self.assertEqual([c["id"] for c, _ in written], ["sleepy_speedup", "ipc_ladder"])
            about = json.loads((RECORDED / "machine.json").read_text())
            text = bench.report([], written, about, {"04_sleepy_workload": "recorded"}, "./kata bench 04")
            self.assertIn("![1000 jobs of 10 ms: speedup over the sequential loop](sleepy_speedup.svg)", text)
            self.assertIn("- CPUs: 2 online", text)


class CatalogueTest(unittest.TestCase):
    def test_every_source_names_python_or_an_exercise(self):
        data = catalogue()
        items = [r for c in data.cells for r in c["rows"]]
        items += [i for c in data.charts for i in c.get("series", []) + c.get("bars", [])]
        for item in items:
            source = cells.Source.parse(item["source"])
            self.assertRegex(source.origin, r"^(python|\d\d_[a-z0-9_]+)$", item)
            self.assertTrue(source.name, item)

    def test_every_python_script_named_exists(self):
        for script in catalogue().scripts(catalogue().cells):
            self.assertTrue((course.ROOT / bench.PYTHON_DIR / script).is_file(), script)

    def test_the_filter_asks_for_every_benchmark_a_table_or_chart_needs(self):
        data = catalogue()
        names = data.benchmark_names("04_sleepy_workload", data.cells_for(["04_sleepy_workload"]))
        self.assertIn("BM_sequential/100/iterations:1/real_time", names)  # the chart's reference
        self.assertIn("BM_tbb/items:1000/threads:32/iterations:1/real_time", names)  # a chart point only

    def test_an_mpi_exercise_runs_once_per_rank_count_with_its_names(self):
        setup = {"launcher": "bench/x.sh", "sweep": {"env": "R", "values": [1, 8], "suffix": "/ranks:{}"}}
        exercise = course.Exercise("09_mpi_map", course.ROOT)
        launches = bench._launches(exercise, setup, pathlib.Path("b"), ["BM_a/ranks:8", "BM_b/ranks:8"])
        self.assertEqual(len(launches), 1)  # nothing asked of 1 rank
        command, names, env, suffix = launches[0]
        self.assertEqual(names, ["BM_a", "BM_b"])
        self.assertEqual((env, suffix), ({"R": "8"}, "/ranks:8"))
        self.assertTrue(command[0].endswith("bench/x.sh"))

    def test_named_benchmarks_exist_in_the_built_binaries(self):
        """Where build-solutions/ has a benchmark binary, every name cells.json gives it is one it lists."""
        data = catalogue()
        checked = 0
        for exercise in course.exercises():
            binary = course.ROOT / "build-solutions" / exercise.bench_target
            if not binary.exists():
                continue
            listed = set(subprocess.run([str(binary), "--benchmark_list_tests"], capture_output=True, text=True,
                                        timeout=60, check=False).stdout.split())
            suffix = data.exercises.get(exercise.name, {}).get("sweep", {}).get("suffix", "")
            for name in data.benchmark_names(exercise.name, data.cells):
                base = name[: name.rindex(suffix.split("{")[0])] if suffix and suffix.split("{")[0] in name else name
                self.assertIn(base, listed, f"{exercise.name}: bench/cells.json names {name}")
            checked += 1
        if not checked:
            # .ci/run says when they must be there: then their absence is a failure.
            if os.environ.get("KATA_BENCHMARKS_BUILT"):
                self.fail("no benchmark built in build-solutions/")
            self.skipTest("no benchmark built in build-solutions/")


class MachineTest(unittest.TestCase):
    def test_the_tightest_quota_up_the_cgroup_tree_counts(self):
        with tempfile.TemporaryDirectory() as folder:
            root = pathlib.Path(folder)
            (root / "a" / "b" / "c").mkdir(parents=True)
            (root / "a" / "cpu.max").write_text("150000 100000\n")
            (root / "a" / "b" / "cpu.max").write_text("200000 100000\n")
            (root / "a" / "b" / "c" / "cpu.max").write_text("max 100000\n")
            (root / "self").write_text("0::/a/b/c\n")
            self.assertEqual(machine.cgroup_quota(root, root / "self"), 1.5)
            (root / "self").write_text("0::/\n")
            self.assertIsNone(machine.cgroup_quota(root, root / "self"))

    def test_cgroup_v1_quota_and_period(self):
        with tempfile.TemporaryDirectory() as folder:
            root = pathlib.Path(folder)
            (root / "cpu,cpuacct" / "job").mkdir(parents=True)
            (root / "cpu,cpuacct" / "job" / "cpu.cfs_quota_us").write_text("50000\n")
            (root / "cpu,cpuacct" / "job" / "cpu.cfs_period_us").write_text("100000\n")
            (root / "self").write_text("4:cpu,cpuacct:/job\n1:name=systemd:/job\n")
            self.assertEqual(machine.cgroup_quota(root, root / "self"), 0.5)


if __name__ == "__main__":
    unittest.main()
