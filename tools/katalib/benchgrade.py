"""`kata grade --bench`: optional points for speed, measured fairly.

For each exercise whose tests all pass, the submission's benchmark and the
reference solution's are built, then run in turns on the same machine
(submission, reference, submission, reference, ...), so that a neighbour's burst
of work slows both alike. Each benchmark's figure is the median of its rounds;
the exercise's ratio is the geometric mean over its benchmarks of
reference time / submission time (1.0: as fast as the reference, 0.8: a fifth
slower). Reaching the ratio grading.json asks for earns its points:

    "bench": {"points": 5, "ratio": 0.8, "rounds": 3, "min_time": 0.2,
              "exercises": {"02_pool_map": {"points": 10, "benchmark": "BM_PoolMap"}}}

Without a "bench" key, ratios are measured and reported (and fill Gradescope's
leaderboard), for no points. Off unless --bench is given: it takes minutes.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import math
import pathlib
import re
import shutil
import statistics
import tempfile
from typing import Callable

from . import build, cells, gbench, grade, sandbox
from .course import ROOT, Exercise


@dataclasses.dataclass
class BenchGrade:
    exercise: str
    ratio: float | None  # reference time / submission time; None where nothing was measured
    points: float
    max_points: float
    target: float
    benchmarks: str = ""  # which benchmarks, for the report
    note: str = ""  # why nothing was measured

    def summary(self) -> str:
        if self.ratio is None:
            return self.note
        return (f"{self.ratio:.2f}x the reference's speed ({self.benchmarks}); "
                f"{self.target:g}x earns {self.max_points:g} points")


@dataclasses.dataclass
class Settings:
    points: float = 0.0
    ratio: float = 0.8
    rounds: int = 3
    min_time: float = 0.2
    benchmark: str = ""  # a regex choosing the benchmarks compared; every one by default


def load_settings(path: pathlib.Path) -> dict[str, Settings]:
    """Each exercise's settings from grading.json's "bench" (the key "*" for the others)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8")).get("bench", {})
    except (OSError, ValueError) as error:
        raise ValueError(f"{path}: {error}") from None
    fields = {f.name for f in dataclasses.fields(Settings)}
    common = {k: v for k, v in data.items() if k in fields}
    settings = {"*": Settings(**common)}
    for name, own in data.get("exercises", {}).items():
        settings[name] = Settings(**{**common, **{k: v for k, v in own.items() if k in fields}})
    return settings


def ratio_of(submission: dict[str, list[float]], reference: dict[str, list[float]]) -> float | None:
    """Geometric mean over the benchmarks both measured of median(reference) / median(submission)."""
    ratios = [statistics.median(reference[n]) / statistics.median(submission[n])
              for n in sorted(set(submission) & set(reference))
              if submission[n] and reference[n] and min(submission[n]) > 0]
    return math.exp(sum(map(math.log, ratios)) / len(ratios)) if ratios else None


def interleave(rounds: int, run_submission: Callable[[], dict[str, float]],
               run_reference: Callable[[], dict[str, float]]) -> tuple[dict, dict]:
    """Each side's figures per benchmark, measured in turns."""
    mine: dict[str, list[float]] = {}
    theirs: dict[str, list[float]] = {}
    for _ in range(rounds):
        for run, into in ((run_submission, mine), (run_reference, theirs)):
            for name, seconds in run().items():
                into.setdefault(name, []).append(seconds)
    return mine, theirs


def award(exercise: str, settings: Settings, mine: dict, theirs: dict) -> BenchGrade:
    ratio = ratio_of(mine, theirs)
    if ratio is None:
        return BenchGrade(exercise, None, 0.0, settings.points, settings.ratio,
                          note="its benchmark gave no figure to compare")
    points = settings.points if ratio >= settings.ratio else 0.0
    return BenchGrade(exercise, ratio, points, settings.points, settings.ratio,
                      f"{len(set(mine) & set(theirs))} benchmarks, median of {settings.rounds} rounds each")


class BenchGrader:
    """Builds the reference benchmarks once, and each submission's in a folder of its own.

    It uses the grader's helpers: grade._copy_pristine and grade._take_stubs for the
    submission's sources, grade._run (with the grader's uid and limits) for every
    build and run of the submission's code, sandbox.chown_tree and kill_everything_of.
    """

    def __init__(self, grader: grade.Grader, settings: dict[str, Settings]):
        self.grader = grader
        self.settings = settings
        self.launchers = cells.Catalogue.load().exercises
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="kata-bench-"))
        self.work.chmod(0o755)  # the sandbox user builds and runs below it
        self.reference = self.work / "reference"
        self.reference_ready = False

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    def grade(self, submission: pathlib.Path, grades: list[grade.ExerciseGrade]) -> list[BenchGrade]:
        # The sandbox user is one per machine: take turns with every grader, as grade.Grader does.
        with open(f"/tmp/kata-grade-{self.grader.uid}.lock", "a") as lock:
            if self.grader.uid is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            return self._grade_alone(submission, grades)

    def _grade_alone(self, submission: pathlib.Path, grades: list[grade.ExerciseGrade]) -> list[BenchGrade]:
        passing = [(e, g) for e, g in zip(self.grader.exercises, grades)
                   if g.compiled and g.total and g.passed == g.total]
        results = []
        student = self.work / "student"
        shutil.rmtree(student, ignore_errors=True)
        try:
            for exercise, exercise_grade in passing:
                settings = self.settings.get(exercise.name, self.settings["*"])
                results.append(self._grade_one(exercise, settings, submission, student))
        finally:
            if self.grader.uid is not None:
                sandbox.kill_everything_of(self.grader.uid)
            shutil.rmtree(student, ignore_errors=True)
        return results

    def _grade_one(self, exercise: Exercise, settings: Settings, submission: pathlib.Path,
                   student: pathlib.Path) -> BenchGrade:
        def skip(why: str) -> BenchGrade:
            return BenchGrade(exercise.name, None, 0.0, settings.points, settings.ratio, note=why)

        if "launcher" in self.launchers.get(exercise.name, {}):
            return skip("its benchmark runs under mpiexec: not graded for speed")
        reference, error = self._reference_binary(exercise)
        if reference is None:
            return skip(f"the reference benchmark does not build: {error}")
        mine, error = self._student_binary(exercise, submission, student)
        if mine is None:
            return skip(f"{exercise.bench_target} does not build: {error}")
        names = [n for n in gbench.list_tests(reference) if re.search(settings.benchmark, n)]
        if not names:
            return skip(f"no benchmark matches {settings.benchmark!r}")
        results = student / "results"
        mine_times, reference_times = interleave(
            settings.rounds, lambda: self._run(mine, names, settings, results),
            lambda: self._run(reference, names, settings, results))
        return award(exercise.name, settings, mine_times, reference_times)

    def _reference_binary(self, exercise: Exercise) -> tuple[pathlib.Path | None, str]:
        binary_dir = self.reference
        if not self.reference_ready:
            code, output = grade._run(["cmake", "-S", str(ROOT), "-B", str(binary_dir), "-G", "Ninja",
                                       "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DKATA_IMPLEMENTATION=solutions",
                                       "-DKATA_BUILD_BENCH=ON"], 600)
            if code != 0:
                return None, _first_error(output)
            self.reference_ready = True
        code, output = grade._run(["cmake", "--build", str(binary_dir), "--target", exercise.bench_target], 900)
        return (binary_dir / exercise.bench_target, "") if code == 0 else (None, _first_error(output))

    def _student_binary(self, exercise: Exercise, submission: pathlib.Path,
                        student: pathlib.Path) -> tuple[pathlib.Path | None, str]:
        source, binary_dir, results = student / "src", student / "build", student / "results"
        uid, limits = self.grader.uid, self.grader.limits
        if not source.exists():
            for folder in (source, binary_dir, results):
                folder.mkdir(parents=True)
            grade._copy_pristine(source)
            shutil.copytree(ROOT / "bench", source / "bench")  # the benchmarks' sources: the grader leaves them out
            folder = grade.exercises_folder(submission)
            for each in self.grader.exercises:
                grade._take_stubs(each, folder, source, grade.ExerciseGrade(each.name, 0))
            if uid is not None:
                for folder in (source, binary_dir, results):
                    sandbox.chown_tree(str(folder), uid)
            code, output = grade._run(["cmake", "-S", str(source), "-B", str(binary_dir), "-G", "Ninja",
                                       "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DKATA_IMPLEMENTATION=exercises",
                                       "-DKATA_BUILD_BENCH=ON"], 600, as_uid=uid, limits=limits)
            if code != 0:
                return None, _first_error(output)
        code, output = grade._run(["cmake", "--build", str(binary_dir), "--target", exercise.bench_target], 900,
                                  as_uid=uid, limits=limits)
        return (binary_dir / exercise.bench_target, "") if code == 0 else (None, _first_error(output))

    def _run(self, binary: pathlib.Path, names: list[str], settings: Settings,
             results: pathlib.Path) -> dict[str, float]:
        """One run of the benchmarks, as the sandbox user for the submission and the reference alike."""
        out = results / "run.json"
        out.unlink(missing_ok=True)
        grade._run([str(binary), f"--benchmark_filter={gbench.name_filter(names)}",
                    f"--benchmark_min_time={settings.min_time}", f"--benchmark_out={out}",
                    "--benchmark_out_format=json"], 600, as_uid=self.grader.uid, limits=self.grader.limits)
        try:
            figures = gbench.parse(out.read_text(encoding="utf-8", errors="replace"))
        except (OSError, ValueError, KeyError):
            return {}
        return {name: f.seconds for name, f in figures.items() if not f.error and f.seconds > 0}


def _first_error(output: str) -> str:
    return build.BuildResult(False, output).first_error(context=6)
