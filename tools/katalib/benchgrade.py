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
import json
import math
import pathlib
import re
import shutil
import statistics
import tempfile
from typing import Callable

from . import build, cells, gbench, grade
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


# Runs the benchmark inside the sandbox; its JSON report, written to the private report
# folder, comes back through fd 0 after it ends (as grade._RUN_ONE does for GoogleTest's).
_RUN_BENCH = r"""
report="$1"; shift
mkdir -p "$report" || exit 125
"$@" --benchmark_out="$report/bench.json" --benchmark_out_format=json 0</dev/null
status=$?
[ -f "$report/bench.json" ] && head -c 8388608 "$report/bench.json" >&0
exit $status
"""
_COURSE = ("CMakeLists.txt", "CMakePresets.json", "cmake", "common", "exercises", "tests", "bench")


class BenchGrader:
    """Builds the reference benchmarks once, and each submission's in a tree of its own.

    Everything goes through grader.run_over: the submission's benchmark is configured,
    built and run as its tests are (the grader's sandbox, uid and limits; only the
    student's regular files, read with grade.read_student_file; no course checkout in
    sight), and the reference's under the very same conditions, so the ratio is fair.
    """

    def __init__(self, grader: grade.Grader, settings: dict[str, Settings]):
        self.grader = grader
        self.settings = settings
        self.launchers = cells.Catalogue.load().exercises
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="kata-bench-"))
        self.work.chmod(0o755)  # the sandbox user reads the trees below it
        self.reference = (self.work / "reference-src", self.work / "reference-build")
        self.reference_ready = False
        self.timeout = grader.config.limits["build_timeout_seconds"]

    def close(self) -> None:
        shutil.rmtree(self.work, ignore_errors=True)

    def grade(self, submission: pathlib.Path, grades: list[grade.ExerciseGrade]) -> list[BenchGrade]:
        by_name = {e.name: e for e in self.grader.exercises}
        passing = [by_name[g.name] for g in grades
                   if g.name in by_name and g.compiled and g.total and g.passed == g.total]
        student = (self.work / "student-src", self.work / "student-build")
        try:
            return [self._grade_one(exercise, self.settings.get(exercise.name, self.settings["*"]),
                                    submission, student) for exercise in passing]
        finally:
            for folder in student:
                shutil.rmtree(folder, ignore_errors=True)

    def _grade_one(self, exercise: Exercise, settings: Settings, submission: pathlib.Path,
                   student: tuple[pathlib.Path, pathlib.Path]) -> BenchGrade:
        def skip(why: str) -> BenchGrade:
            return BenchGrade(exercise.name, None, 0.0, settings.points, settings.ratio, note=why)

        if "launcher" in self.launchers.get(exercise.name, {}):
            return skip("its benchmark runs under mpiexec: not graded for speed")
        error = self._reference_build(exercise)
        if error is not None:
            return skip(f"the reference benchmark does not build: {error}")
        error = self._student_build(exercise, submission, student)
        if error is not None:
            return skip(f"{exercise.bench_target} does not build: {error}")
        listed = self.grader.run_over(*self.reference, [f"@BUILD@/{exercise.bench_target}",
                                                        "--benchmark_list_tests"], self.timeout)
        names = [n for n in listed.output.decode(errors="replace").split()
                 if re.search(settings.benchmark, n)] if listed.status == 0 else []
        if not names:
            return skip(f"no benchmark matches {settings.benchmark!r}")
        mine_times, reference_times = interleave(
            settings.rounds, lambda: self._run(student, exercise, names, settings),
            lambda: self._run(self.reference, exercise, names, settings))
        return award(exercise.name, settings, mine_times, reference_times)

    def _configure(self, trees: tuple[pathlib.Path, pathlib.Path], implementation: str) -> str | None:
        run = self.grader.run_over(*trees, [
            "cmake", "-S", "@SRC@", "-B", "@BUILD@", "-G", "Ninja", "-DCMAKE_BUILD_TYPE=Release",
            f"-DKATA_IMPLEMENTATION={implementation}", "-DKATA_BUILD_BENCH=ON"],
            self.timeout, writable_build=True)
        return None if run.status == 0 else self._first_error(run)

    def _build(self, trees: tuple[pathlib.Path, pathlib.Path], exercise: Exercise) -> str | None:
        run = self.grader.run_over(*trees, ["cmake", "--build", "@BUILD@", "--target", exercise.bench_target],
                                   self.timeout, writable_build=True)
        return None if run.status == 0 else self._first_error(run)

    def _reference_build(self, exercise: Exercise) -> str | None:
        if not self.reference_ready:
            src, build_dir = self.reference
            _copy_course(src, ("solutions",))
            build_dir.mkdir()
            error = self._configure(self.reference, "solutions")
            if error is not None:
                return error
            self.reference_ready = True
        return self._build(self.reference, exercise)

    def _student_build(self, exercise: Exercise, submission: pathlib.Path,
                       student: tuple[pathlib.Path, pathlib.Path]) -> str | None:
        src, build_dir = student
        if not src.exists():  # the course as shipped, configured once per submission
            shutil.rmtree(build_dir, ignore_errors=True)
            _copy_course(src)
            build_dir.mkdir()
            error = self._configure(student, "exercises")
            if error is not None:
                return error
        try:
            folder = grade.exercises_folder(submission)
        except (OSError, ValueError) as why:
            return str(why)
        for official in exercise.stub_files:
            data, _ = grade.read_student_file(folder, exercise.name, official.name)
            if data is not None:  # else the shipped stub, as when its tests were graded
                target = src / "exercises" / exercise.name / official.name
                target.unlink()
                target.write_bytes(data)
        return self._build(student, exercise)

    def _run(self, trees: tuple[pathlib.Path, pathlib.Path], exercise: Exercise, names: list[str],
             settings: Settings) -> dict[str, float]:
        """One run of the benchmarks, in the sandbox, for the submission and the reference alike."""
        run = self.grader.run_over(*trees, [
            "sh", "-c", _RUN_BENCH, "sh", "@REPORT@", f"@BUILD@/{exercise.bench_target}",
            f"--benchmark_filter={gbench.name_filter(names)}", f"--benchmark_min_time={settings.min_time}"],
            self.timeout, report=True)
        try:
            figures = gbench.parse(run.report.decode("utf-8", errors="replace"))
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            return {}
        return {name: f.seconds for name, f in figures.items() if not f.error and f.seconds > 0}

    def _first_error(self, run) -> str:
        output = grade.clean_text(run.output.decode(errors="replace"), "@SRC@", "@BUILD@", grade.SRC, grade.BUILD,
                                  *(str(p) for p in self.work.iterdir()))
        return build.BuildResult(False, output).first_error(context=6) or output[-2000:]


def _copy_course(src: pathlib.Path, extra: tuple[str, ...] = ()) -> None:
    """The course's sources a benchmark needs (never grading.json, nor solutions/ unless asked)."""
    src.mkdir(parents=True)
    for name in (*_COURSE, *extra):
        if (ROOT / name).is_dir():
            shutil.copytree(ROOT / name, src / name, symlinks=True)
        else:
            shutil.copy2(ROOT / name, src / name)


