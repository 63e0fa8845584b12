"""`kata grade`: grade students' stubs against the official tests, safely.

Only the stub files a student was meant to edit are taken from a submission,
dropped into a pristine copy of the official headers, tests and build: editing a
test or a header gains nothing. Each exercise is built on its own, so one that
does not compile scores zero alone. The submission's code (its compiler runs and
its tests) runs as a user of its own with resource limits (see sandbox.py); the
grader, ctest and the build files stay out of its reach.
"""
from __future__ import annotations

import dataclasses
import fcntl
import json
import os
import pathlib
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time

from . import build, ctest, sandbox
from .course import ROOT, Exercise

MAX_SOURCE_BYTES = 1 << 20
# An #include must name a system header (<vector>), a course header (<kata/fd.hpp>)
# or the exercise's own header ("pool_map.hpp"): never a path into the file system,
# where the reference solutions might be readable.
_INCLUDE = re.compile(r"^\s*#\s*include\s*(.*)$", re.MULTILINE)
_ALLOWED_INCLUDE = re.compile(r'^(<[A-Za-z0-9_+./-]+>|"[A-Za-z0-9_+.-]+\.hpp")\s*(//.*)?$')


@dataclasses.dataclass
class Config:
    weights: dict[str, float]
    default_weight: float
    limits: dict[str, int]
    sandbox_uid: int

    @staticmethod
    def load(path: pathlib.Path = ROOT / "grading.json") -> "Config":
        data = json.loads(path.read_text(encoding="utf-8"))
        return Config(data.get("weights", {}), data.get("default_weight", 10), data["limits"],
                      data.get("sandbox_uid", 61999))

    def weight(self, exercise: str) -> float:
        return float(self.weights.get(exercise, self.default_weight))

    def sandbox_limits(self) -> sandbox.Limits:
        return sandbox.Limits(self.limits["cpu_seconds_per_process"], self.limits["processes"],
                              self.limits["address_space_mib"], self.limits["file_size_mib"])


@dataclasses.dataclass
class ExerciseGrade:
    name: str
    weight: float
    compiled: bool = False
    passed: int = 0
    total: int = 0
    message: str = ""  # the compiler's first error, or the first failing test's output
    notes: list[str] = dataclasses.field(default_factory=list)
    tests: list[ctest.TestResult] = dataclasses.field(default_factory=list)

    @property
    def points(self) -> float:
        return round(self.weight * self.passed / self.total, 2) if self.total else 0.0


@dataclasses.dataclass
class SubmissionGrade:
    submission: str
    exercises: list[ExerciseGrade]
    seconds: float = 0.0
    # Filled for the reports (issue 14): the grader's work folder, whose paths a report
    # relativises; what was wrong with the submission itself, one line each (intake.py);
    # and the speed grades of `kata grade --bench` (benchgrade.BenchGrade).
    work_dir: str = ""
    problems: list[str] = dataclasses.field(default_factory=list)
    bench: list = dataclasses.field(default_factory=list)

    @property
    def score(self) -> float:
        return round(sum(e.points for e in self.exercises), 2)

    @property
    def max_score(self) -> float:
        return sum(e.weight for e in self.exercises)


def exercises_folder(submission: pathlib.Path) -> pathlib.Path:
    """A submission is a student's repository, or just its exercises/ folder."""
    if (submission / "exercises").is_dir():
        return submission / "exercises"
    if any(re.match(r"\d\d_", p.name) for p in submission.iterdir() if p.is_dir()):
        return submission
    raise ValueError(f"{submission}: neither a kata repository nor its exercises/ folder")


def include_problem(source: str) -> str | None:
    for match in _INCLUDE.finditer(source):
        target = match.group(1).strip()
        if not _ALLOWED_INCLUDE.match(target) or ".." in target or target.startswith("</"):
            return f"#include {target} is not allowed: include headers by name only"
    return None


def _copy_pristine(destination: pathlib.Path) -> None:
    for name in ("CMakeLists.txt", "CMakePresets.json"):
        shutil.copy2(ROOT / name, destination / name)
    for folder in ("cmake", "common", "exercises", "tests"):
        shutil.copytree(ROOT / folder, destination / folder)


def _take_stubs(exercise: Exercise, student: pathlib.Path, pristine: pathlib.Path,
                grade: ExerciseGrade) -> None:
    for official in exercise.stub_files:
        theirs = student / exercise.name / official.name
        if not theirs.exists():
            grade.notes.append(f"{official.name} missing: the shipped stub was graded")
            continue
        if theirs.is_symlink() or not theirs.is_file() or theirs.stat().st_size > MAX_SOURCE_BYTES:
            grade.notes.append(f"{official.name} is not a regular source file under 1 MiB: ignored")
            continue
        source = theirs.read_text(encoding="utf-8", errors="replace")
        problem = include_problem(source)
        if problem:
            grade.notes.append(f"{official.name}: {problem}; the shipped stub was graded")
            continue
        (pristine / "exercises" / exercise.name / official.name).write_text(source, encoding="utf-8")


def _run(command: list[str], timeout: float, env: dict[str, str] | None = None,
         as_uid: int | None = None, limits: sandbox.Limits | None = None) -> tuple[int, str]:
    """Runs a command in a session of its own; past the timeout the whole session is killed."""
    def enter() -> None:
        if limits:
            limits.apply()
        if as_uid is not None:
            sandbox.become(as_uid)

    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env,
                               start_new_session=True, preexec_fn=enter)
    try:
        output, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        output, _ = process.communicate()
        return -1, output.decode(errors="replace") + f"\n[kata grade: stopped after {timeout:.0f} s]"
    return process.returncode, output.decode(errors="replace")


class Grader:
    def __init__(self, exercises: list[Exercise], config: Config):
        self.exercises = exercises
        self.config = config
        self.limits = config.sandbox_limits()
        self.isolated = sandbox.can_switch_user()
        self.uid = config.sandbox_uid if self.isolated else None

    def grade(self, submission: pathlib.Path) -> SubmissionGrade:
        # The sandbox user is one per machine: two graders sharing it would share its
        # process limit and kill each other's processes. Take turns.
        with open(f"/tmp/kata-grade-{self.uid}.lock", "a") as lock:
            if self.uid is not None:
                fcntl.flock(lock, fcntl.LOCK_EX)
            return self._grade_alone(submission)

    def _grade_alone(self, submission: pathlib.Path) -> SubmissionGrade:
        started = time.monotonic()
        grades = [ExerciseGrade(e.name, self.config.weight(e.name)) for e in self.exercises]
        work = pathlib.Path(tempfile.mkdtemp(prefix="kata-grade-"))
        try:
            student = exercises_folder(submission)
            self._grade_in(work, student, grades)
        except (OSError, ValueError) as error:
            for grade in grades:
                grade.message = str(error)
        finally:
            if self.uid is not None:
                sandbox.kill_everything_of(self.uid)
            shutil.rmtree(work, ignore_errors=True)
        return SubmissionGrade(str(submission), grades, time.monotonic() - started, work_dir=str(work))

    def _grade_in(self, work: pathlib.Path, student: pathlib.Path, grades: list[ExerciseGrade]) -> None:
        source, binary, scratch, private = (work / n for n in ("src", "build", "tmp", "private"))
        for folder in (source, binary, scratch, private):
            folder.mkdir()
        os.chmod(work, 0o755)
        os.chmod(private, 0o700)
        _copy_pristine(source)
        for exercise, grade in zip(self.exercises, grades):
            _take_stubs(exercise, student, source, grade)

        # Build as the sandbox user: the compiler reads only what anyone may read.
        if self.uid is not None:
            for folder in (source, binary, scratch):
                sandbox.chown_tree(str(folder), self.uid)
        limits = self.config.limits
        launcher = f"{sys.executable};{ROOT / 'tools/katalib/sandbox_exec.py'}"
        code, output = _run(
            ["cmake", "-S", str(source), "-B", str(binary), "-G", "Ninja",
             "-DCMAKE_BUILD_TYPE=RelWithDebInfo", "-DKATA_IMPLEMENTATION=exercises",
             "-DKATA_BUILD_BENCH=OFF", f"-DKATA_TEST_TIMEOUT={limits['test_timeout_seconds']}",
             f"-DCMAKE_CROSSCOMPILING_EMULATOR={launcher}"],
            limits["build_timeout_seconds"], as_uid=self.uid, limits=self.limits)
        if code != 0:
            raise ValueError("the official build does not configure:\n" + output[-2000:])
        for exercise, grade in zip(self.exercises, grades):
            code, output = _run(["cmake", "--build", str(binary), "--target", exercise.test_target],
                                limits["build_timeout_seconds"], as_uid=self.uid, limits=self.limits)
            grade.compiled = code == 0
            if not grade.compiled:
                grade.message = build.BuildResult(False, output).first_error()

        # Tests run as the sandbox user, but the build files that ctest (this user)
        # reads back must not be theirs to rewrite.
        if self.uid is not None:
            sandbox.chown_tree(str(source), 0)
            sandbox.chown_tree(str(binary), 0)
        env = dict(os.environ, TMPDIR=str(scratch), HOME=str(scratch),
                   KATA_SANDBOX_LIMITS=self.limits.to_env(),
                   KATA_SANDBOX_UID=str(self.uid if self.uid is not None else -1),
                   KATA_SANDBOX_MAX_OUTPUT=str(limits["output_bytes_per_test"]))
        for exercise, grade in zip(self.exercises, grades):
            if grade.compiled:
                self._test(exercise, grade, binary, private, env)

    def _test(self, exercise: Exercise, grade: ExerciseGrade, binary: pathlib.Path,
              private: pathlib.Path, env: dict[str, str]) -> None:
        junit = private / f"{exercise.name}.xml"
        # One test at a time: a score must not depend on what another test of the
        # same submission was doing (a fork bomb in one starving the next of processes).
        code, console = _run(["ctest", "--test-dir", str(binary), "-j", "1", "-L", f"^{exercise.name}$",
                              "--output-junit", str(junit)],
                             self.config.limits["exercise_timeout_seconds"], env=env)
        if self.uid is not None:
            sandbox.kill_everything_of(self.uid)
        results = ctest.parse_console(console)
        if junit.exists():
            for name, output in ctest.parse_junit_outputs(junit.read_text(errors="replace")).items():
                if name in results:
                    results[name].output = output
        grade.tests = sorted(results.values(), key=lambda r: r.number)
        grade.total = len(grade.tests)
        grade.passed = sum(r.passed for r in grade.tests)
        first = next((r for r in grade.tests if not r.passed), None)
        if first is not None:
            excerpt = ctest.failure_excerpt(first.output) or first.output[-1500:]
            grade.message = f"{first.short_name} ({first.status}): {excerpt}"[:2000]
        elif grade.total == 0:
            grade.message = "no tests ran:\n" + console[-1500:]
