"""`kata grade`: grade students' stubs against the official tests, safely.

Once per grading run, the course's pristine tree (no solutions/, no grading.json)
is configured and its shipped stubs are built, in the sandbox; their test binaries
give the trusted list of tests. For each submission, that build is copied, and
exercise by exercise only the stub files the student was meant to edit are taken
(regular files only, read with O_NOFOLLOW), compiled in the sandbox, and run test
by test: each test in a sandbox of its own (see sandbox.py), with
--gtest_filter=ThatTest and GoogleTest's JSON report written inside it. A test
passed only if that report says it ran and passed and the process exited 0:
nothing is read from the console, nothing from the graded binary decides which
tests exist. A binary that hangs or crashes before main() costs its own exercise.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import os
import pathlib
import re
import shutil
import stat
import subprocess
import tempfile
import time

from . import build, course, ctest, sandbox
from .course import ROOT, Exercise

MAX_SOURCE_BYTES = 1 << 20
SRC, BUILD = "/kata/src", "/kata/build"  # where the sandbox sees the trees
_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b[()][0-9A-Za-z]")
# Runs one test inside the sandbox: GoogleTest writes its JSON report into a private
# folder; after the test binary ends (it never holds the report pipe, this shell's
# stdin), the reports are copied to the grader through it. $1: the folder; then the command.
_RUN_ONE = r"""
report="$1"; shift
mkdir -p "$report" || exit 125
export KATA_REPORT="$report"
GTEST_OUTPUT="json:$report/report.json" "$@" 0</dev/null
status=$?
for file in "$report"/*.json; do
  [ -f "$file" ] || continue
  printf '\036%s\n' "${file##*/}" >&0
  head -c 8388608 "$file" >&0
done
exit $status
"""
# One rank of an MPI test: a report of its own.
_RANK = 'GTEST_OUTPUT="json:$KATA_REPORT/rank-$OMPI_COMM_WORLD_RANK.json" exec "$0" "$@"'


@dataclasses.dataclass
class Config:
    weights: dict[str, float]
    limits: dict[str, int]
    sandbox_uid: int
    sandbox_uids: int = 8  # a pool: one uid per grader running at once

    @staticmethod
    def load(path: pathlib.Path = ROOT / "grading.json", root: pathlib.Path = ROOT) -> "Config":
        data = json.loads(path.read_text(encoding="utf-8"))
        # Points per exercise are its manifest's weight; a "weights" object here overrides them.
        weights = {e.name: e.weight for e in course.exercises(root)} | data.get("weights", {})
        return Config(weights, data["limits"], data.get("sandbox_uid", 61999), data.get("sandbox_uids", 8))

    def weight(self, exercise: str) -> float:
        return float(self.weights[exercise])

    def sandbox_limits(self) -> sandbox.Limits:
        limits, default = self.limits, sandbox.Limits()
        return sandbox.Limits(limits["cpu_seconds_per_process"], limits["processes"],
                              limits["address_space_mib"], limits["file_size_mib"],
                              limits.get("open_files", default.open_files),
                              limits.get("memory_mib_per_test", default.memory_mib),
                              limits.get("tmp_mib", default.tmp_mib))


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
    isolation: str = ""  # what protection was missing ("" when fully sandboxed)
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


class GradingError(RuntimeError):
    """The course itself (not a submission) cannot be built or listed."""


def mpi_ranks(root: pathlib.Path = ROOT) -> dict[str, list[int]]:
    """The MPI exercises and their rank counts, from their manifests."""
    return {e.name: [int(n) for n in e.manifest["mpi_ranks"]]
            for e in course.exercises(root) if e.manifest.get("mpi_ranks")}


def parse_test_list(text: str) -> list[str]:
    """`--gtest_list_tests` output (of a trusted binary) as ["Suite.Test", ...]."""
    tests, suite = [], ""
    for line in text.splitlines():
        if not line.strip() or line.startswith(("[", "Running main")):
            continue
        name = line.split("#", 1)[0].strip()
        if not line.startswith(" "):
            suite = name
        elif suite:
            tests.append(suite + name)
    return tests


def clean_text(text: str, *roots: str) -> str:
    """Graded output as shown to people: no ANSI escapes, paths relative to the course."""
    text = _ANSI.sub("", text)
    for root in roots:
        text = text.replace(root.rstrip("/") + "/", "")
    return text


# --- taking a submission's files -------------------------------------------------

def _open_dir(name: str, dir_fd: int | None = None) -> int:
    return os.open(name, os.O_RDONLY | os.O_DIRECTORY | os.O_NOFOLLOW | os.O_CLOEXEC, dir_fd=dir_fd)


def exercises_folder(submission: pathlib.Path) -> pathlib.Path:
    """A submission is a student's repository, or just its exercises/ folder (never a symlink)."""
    if not submission.is_dir():
        raise ValueError(f"{submission}: not a folder")
    exercises = submission / "exercises"
    if exercises.is_dir() and not exercises.is_symlink():
        return exercises
    if any(re.match(r"\d\d_", p.name) for p in submission.iterdir()):
        return submission
    raise ValueError(f"{submission}: neither a kata repository nor its exercises/ folder")


def read_student_file(folder: pathlib.Path, exercise: str, name: str) -> tuple[bytes | None, str]:
    """The student's `exercise/name` below `folder`, or None and a one-line note why not.

    Every step is opened with O_NOFOLLOW: a symlink (to solutions/, to a root-only
    file) is never followed. Only a regular text file under 1 MiB is taken."""
    shown = f"{exercise}/{name}"
    try:
        top = _open_dir(str(folder))
    except OSError as error:
        return None, f"{shown}: cannot open the submission ({error.strerror})"
    try:
        try:
            exercise_fd = _open_dir(exercise, top)
        except FileNotFoundError:
            return None, f"{shown} missing: the shipped stub was graded"
        except OSError:
            return None, f"{exercise} is not a plain folder (a symlink?): ignored, the shipped stubs were graded"
        try:
            info = os.stat(name, dir_fd=exercise_fd, follow_symlinks=False)
            if not stat.S_ISREG(info.st_mode):
                kind = ("a symlink" if stat.S_ISLNK(info.st_mode) else "a folder" if stat.S_ISDIR(info.st_mode)
                        else "a device, pipe or socket")
                return None, f"{shown} is {kind}, not a file: ignored, the shipped stub was graded"
            fd = os.open(name, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC, dir_fd=exercise_fd)
        except FileNotFoundError:
            return None, f"{shown} missing: the shipped stub was graded"
        except OSError as error:
            return None, f"{shown} cannot be read ({error.strerror}): the shipped stub was graded"
        finally:
            os.close(exercise_fd)
        try:
            info = os.fstat(fd)
            if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_SOURCE_BYTES:
                return None, f"{shown} is not a regular source file under 1 MiB: ignored, the shipped stub was graded"
            data = os.read(fd, MAX_SOURCE_BYTES + 1)
        finally:
            os.close(fd)
    finally:
        os.close(top)
    if b"\0" in data or len(data) > MAX_SOURCE_BYTES:
        return None, f"{shown} is binary, not C++ source: ignored, the shipped stub was graded"
    try:
        data.decode("utf-8")
    except UnicodeDecodeError:
        return None, f"{shown} is not UTF-8 text: ignored, the shipped stub was graded"
    return data, ""


# --- judging one test from its GoogleTest reports -------------------------------

def _reports(raw: bytes) -> dict[str, object]:
    """The JSON reports the run sent back, by file name; an unreadable one maps to None."""
    found: dict[str, object] = {}
    for record in raw.split(b"\x1e")[1:]:
        name, _, body = record.partition(b"\n")
        try:
            found[name.decode(errors="replace")] = json.loads(body.decode("utf-8", errors="replace"))
        except ValueError:
            found[name.decode(errors="replace")] = None
    return found


def _verdict(report: object, test: str) -> tuple[str, str]:
    """("passed" | "failed" | "not run" | "missing", failure text) for `Suite.Test` in one report."""
    if not isinstance(report, dict):
        return "missing", "GoogleTest's report is not valid JSON"
    suite, _, name = test.partition(".")
    for entry in report.get("testsuites", []) if isinstance(report.get("testsuites"), list) else []:
        if not isinstance(entry, dict) or entry.get("name") != suite:
            continue
        for case in entry.get("testsuite", []) if isinstance(entry.get("testsuite"), list) else []:
            if not isinstance(case, dict) or case.get("name") != name:
                continue
            failures = case.get("failures") or []
            text = "\n".join(str(f.get("failure", "")) for f in failures if isinstance(f, dict))
            if case.get("status") != "RUN" or case.get("result") == "SUPPRESSED":
                return "not run", "GoogleTest did not run it (disabled)"
            if failures:
                return "failed", text
            if case.get("result") == "SKIPPED":  # the test's own GTEST_SKIP: it does not apply here
                return "skipped", ""
            if case.get("result") != "COMPLETED":
                return "failed", f"GoogleTest says: {case.get('result')}"
            if report.get("failures", 0) or report.get("errors", 0):
                return "failed", "GoogleTest's report counts a failure outside the test"
            return "passed", ""
    return "missing", "the test is missing from GoogleTest's report"


def judge(test: str, run: sandbox.Completed, report_names: list[str], timeout: float,
          memory_mib: int, max_output: int) -> tuple[str, str, str]:
    """(status, detail, explanation) of one test from its run and its reports."""
    reports = _reports(run.report)
    if run.flooded:
        return "failed", "output flood", f"the test wrote more than {max_output} bytes of output and was stopped"
    if run.timed_out:
        return "timeout", "deadline", f"the test did not finish within {timeout:.0f} s and was stopped"
    if run.out_of_memory and run.status != 0:
        return "crashed", "out of memory", f"the test's processes together used more than {memory_mib} MiB and were killed"
    verdicts = []
    for name in report_names:
        if name not in reports:
            how = (f"was killed by signal {-run.status}" if run.status < 0 else
                   f"exited with status {run.status} (a signal {run.status - 128}?)" if run.status > 128 else
                   f"exited with status {run.status}")
            status = "crashed" if run.status < 0 or run.status > 128 else "failed"
            return status, how, f"no GoogleTest report: the test binary {how} before GoogleTest wrote one"
        verdicts.append(_verdict(reports[name], test))
    for verdict, text in verdicts:
        if verdict not in ("passed", "skipped"):
            return ("not run" if verdict == "not run" else "failed"), "", text
    if run.status != 0:
        return "failed", f"exit status {run.status}", (
            f"GoogleTest recorded a pass, but the process then exited with status {run.status}")
    # A test that skips itself (GTEST_SKIP: "needs 3 ranks") does not apply here: it is
    # neither passed nor failed, and carries no points. Counting it as passed would give
    # every submission, the stub included, its points for nothing.
    if any(verdict == "skipped" for verdict, _ in verdicts):
        return "skipped", "", "the test skipped itself here (GTEST_SKIP): it carries no points"
    return "passed", "", ""


# --- the grader --------------------------------------------------------------------

@dataclasses.dataclass
class _Trusted:
    tests: list[str]
    ranks: list[int]  # MPI rank counts; [] for an ordinary exercise


class Grader:
    def __init__(self, exercises: list[Exercise], config: Config, pristine_from: "Grader | None" = None):
        """`pristine_from`: another grader of the same exercises whose pristine build and
        trusted test lists this one copies instead of building its own."""
        self.exercises = exercises
        self.config = config
        self.limits = config.sandbox_limits()
        self.sandbox = sandbox.Sandbox(self.limits, config.sandbox_uid, config.sandbox_uids)
        self.isolated = self.sandbox.isolated
        self.missing = self.sandbox.missing
        self.work = pathlib.Path(tempfile.mkdtemp(prefix="kata-grade-"))
        self.trusted: dict[str, _Trusted] | None = None
        if pristine_from is not None and self.isolated:  # elsewhere the build's paths differ
            pristine_from._prepare()
            for name in ("pristine-src", "pristine-build"):
                shutil.copytree(pristine_from.work / name, self.work / name, symlinks=True)
            os.chmod(self.work, 0o755)
            self.trusted = dict(pristine_from.trusted)
        self.ranks = mpi_ranks()
        self.mpi_tmpdir_flag = self._mpi_tmpdir_flag()

    def close(self) -> None:
        try:
            self.sandbox.close()
        finally:
            shutil.rmtree(self.work, ignore_errors=True)

    def __enter__(self) -> "Grader":
        return self

    def __exit__(self, *_) -> None:
        self.close()

    # Paths: inside the namespace the trees are always at /kata/src and /kata/build,
    # so a build made once can be copied and used again. Without it, they are always
    # the same folders under the grader's work dir, for the same reason.
    def _paths(self) -> tuple[str, str]:
        if self.isolated:
            return SRC, BUILD
        return str(self.work / "src"), str(self.work / "build")

    def _run(self, argv: list[str], timeout: float, writable_build: bool = False, report: bool = False,
             max_output: int = 1 << 20, trees: tuple[pathlib.Path, pathlib.Path] | None = None
             ) -> tuple[sandbox.Completed, str]:
        """Runs argv in the sandbox over the current tree (or `trees`: another source and
        build folder, seen where the current tree is); returns the run and its private tmp."""
        src, build_dir = trees or (self.work / "src", self.work / "build")
        binds = [sandbox.Bind(src, SRC), sandbox.Bind(build_dir, BUILD, writable_build)]
        scratch = None
        if self.isolated:
            tmp = "/tmp"
        else:  # no private /tmp: a fresh folder of the sandbox uid's own, removed after
            scratch = pathlib.Path(tempfile.mkdtemp(prefix="run-", dir=self.work))
            if self.sandbox.mode == "user":
                os.chown(scratch, self.sandbox.uid, self.sandbox.uid)
            tmp = str(scratch)
        report_dir = sandbox.REPORT if self.isolated else f"{tmp}/kata-report"
        argv = [a.replace("@TMP@", tmp).replace("@REPORT@", report_dir) for a in argv]
        try:
            run = self.sandbox.run(argv, timeout, binds, chdir=tmp, env={"TMPDIR": tmp, "HOME": tmp},
                                   max_output=max_output, report=report)
        finally:
            if scratch is not None:
                shutil.rmtree(scratch, ignore_errors=True)
        return run, tmp

    def _tree_to(self, uid: int, build_dir: pathlib.Path | None = None) -> None:
        if self.sandbox.mode != "limits":
            sandbox.chown_tree(build_dir or self.work / "build", uid)

    # --- for the speed grades of the same submission (benchgrade.py) -----------------

    def run_over(self, src: pathlib.Path, build_dir: pathlib.Path, argv: list[str], timeout: float,
                 writable_build: bool = False, report: bool = False) -> sandbox.Completed:
        """Runs argv as the tests run: in this grader's sandbox (its uid, limits, namespaces),
        over a source and a build folder of the caller's, seen where the grader's own trees are
        (argv names them "@SRC@" and "@BUILD@"; "@REPORT@": the report folder, as in _RUN_ONE).
        With `writable_build`, the build folder belongs to the sandbox uid for this run only.
        The caller's folders, and every folder above them, must be readable by that uid."""
        inside = (SRC, BUILD) if self.isolated else (str(src), str(build_dir))
        argv = [a.replace("@SRC@", inside[0]).replace("@BUILD@", inside[1]) for a in argv]
        if writable_build:
            self._tree_to(self.sandbox.uid, build_dir)
        try:
            run, _ = self._run(argv, timeout, writable_build, report, trees=(src, build_dir))
        finally:
            if writable_build:
                self._tree_to(0, build_dir)
        return run

    def _prepare(self) -> None:
        """The pristine tree, configured and built with the shipped stubs; the trusted test lists."""
        if self.trusted is not None:
            return
        src, build_dir = self.work / "src", self.work / "build"
        src.mkdir()
        for name in ("CMakeLists.txt", "CMakePresets.json"):
            shutil.copy2(ROOT / name, src / name)
        for folder in ("cmake", "common", "exercises", "tests"):
            shutil.copytree(ROOT / folder, src / folder, symlinks=True)
        build_dir.mkdir()
        os.chmod(self.work, 0o755)
        self._tree_to(self.sandbox.uid)
        limits = self.config.limits
        in_src, in_build = self._paths()
        run, _ = self._run(["cmake", "-S", in_src, "-B", in_build, "-G", "Ninja",
                            # -O1 without -g: half the compile time of RelWithDebInfo, same behaviour.
                            "-DCMAKE_BUILD_TYPE=Release", "-DCMAKE_CXX_FLAGS_RELEASE=-O1 -DNDEBUG",
                            "-DKATA_IMPLEMENTATION=exercises",
                            "-DKATA_BUILD_BENCH=OFF"], limits["build_timeout_seconds"], writable_build=True)
        if run.status != 0:
            raise GradingError("the course does not configure:\n" + run.output.decode(errors="replace")[-3000:])
        targets = [e.test_target for e in self.exercises]
        run, _ = self._run(["cmake", "--build", in_build, "--target", *targets],
                           limits["build_timeout_seconds"], writable_build=True)
        if run.status != 0:
            raise GradingError(f"the shipped stubs do not build (status {run.status}):\n"
                               + run.output.decode(errors="replace")[-3000:])
        self._tree_to(0)
        self.trusted = {}
        for exercise in self.exercises:
            ranks = self.ranks.get(exercise.name, [])
            run, _ = self._run(self._list_command(exercise, ranks), limits["test_timeout_seconds"])
            tests = parse_test_list(run.output.decode(errors="replace"))
            if run.status != 0 or not tests:
                raise GradingError(f"{exercise.name}: the shipped stub's test binary does not list its tests:\n"
                                   + run.output.decode(errors="replace")[-2000:])
            self.trusted[exercise.name] = _Trusted(tests, ranks)
        shutil.copytree(src, self.work / "pristine-src", symlinks=True)
        shutil.copytree(build_dir, self.work / "pristine-build", symlinks=True)

    def _mpi_tmpdir_flag(self) -> list[str]:
        """Open MPI 4 (OpenRTE) is told where its session directory goes; 5 follows $TMPDIR."""
        mpiexec = shutil.which("mpiexec")
        if not mpiexec or not self.ranks:
            return []
        try:
            version = subprocess.run([mpiexec, "--version"], capture_output=True, text=True, timeout=30).stdout
        except (OSError, subprocess.TimeoutExpired):
            return []
        return ["--mca", "orte_tmpdir_base", "@TMP@/ompi"] if "OpenRTE" in version else []

    def _mpiexec(self, ranks: int) -> list[str]:
        return ["mpiexec", "-n", str(ranks), "--oversubscribe", *self.mpi_tmpdir_flag]

    def _list_command(self, exercise: Exercise, ranks: list[int]) -> list[str]:
        binary = f"{self._paths()[1]}/{exercise.test_target}"
        return [*self._mpiexec(1), binary, "--gtest_list_tests"] if ranks else [binary, "--gtest_list_tests"]

    # --- one submission ------------------------------------------------------------

    def grade(self, submission: pathlib.Path, only: list[str] | None = None) -> SubmissionGrade:
        """Grades the submission's exercises (all of this grader's, or those named in `only`)."""
        started = time.monotonic()
        exercises = [e for e in self.exercises if only is None or e.name in only]
        grades = [ExerciseGrade(e.name, self.config.weight(e.name)) for e in exercises]
        self._prepare()
        try:
            student = exercises_folder(submission)
        except (OSError, ValueError) as error:
            for grade in grades:
                grade.message = str(error)
            return SubmissionGrade(str(submission), grades, time.monotonic() - started, self.missing,
                               work_dir=str(self.work))
        for name in ("src", "build"):
            shutil.rmtree(self.work / name, ignore_errors=True)
            shutil.copytree(self.work / f"pristine-{name}", self.work / name, symlinks=True)
        for exercise, grade in zip(exercises, grades):
            self._grade_exercise(exercise, student, grade)
        return SubmissionGrade(str(submission), grades, time.monotonic() - started, self.missing,
                               work_dir=str(self.work))

    def _take_files(self, exercise: Exercise, student: pathlib.Path, grade: ExerciseGrade) -> None:
        for official in exercise.stub_files:
            data, note = read_student_file(student, exercise.name, official.name)
            if data is None:
                grade.notes.append(note)
                continue
            target = self.work / "src/exercises" / exercise.name / official.name
            target.unlink()
            target.write_bytes(data)

    def _grade_exercise(self, exercise: Exercise, student: pathlib.Path, grade: ExerciseGrade) -> None:
        limits = self.config.limits
        self._take_files(exercise, student, grade)
        self._tree_to(self.sandbox.uid)
        run, _ = self._run(["cmake", "--build", self._paths()[1], "--target", exercise.test_target],
                           limits["build_timeout_seconds"], writable_build=True)
        self._tree_to(0)
        output = clean_text(run.output.decode(errors="replace"), *self._paths())
        grade.compiled = run.status == 0
        if not grade.compiled:
            grade.message = build.BuildResult(False, output).first_error() or output[-2000:]
            return
        trusted = self.trusted[exercise.name]
        grade.total = len(trusted.tests) * max(1, len(trusted.ranks))
        # A binary that never reaches main() costs this exercise alone, once.
        probe, _ = self._run(self._list_command(exercise, trusted.ranks), limits["test_timeout_seconds"])
        if probe.status != 0:
            self._before_main(exercise, grade, probe, trusted)
            return
        deadline = time.monotonic() + limits["exercise_timeout_seconds"]
        runs = [(ranks, test) for ranks in trusted.ranks or [0] for test in trusted.tests]

        def run_one(number: int) -> ctest.TestResult:
            ranks, test = runs[number - 1]
            name = f"{exercise.name}/{ranks}_ranks/{test}" if ranks else f"{exercise.name}/{test}"
            if time.monotonic() > deadline:
                return ctest.TestResult(name, "not run", 0.0, number, "exercise deadline",
                                        f"not run: the exercise's {limits['exercise_timeout_seconds']} s were used up")
            return self._run_test(exercise, test, ranks, name, number)

        # Each test is alone in its sandbox (its own cgroups, namespaces, tmp): running
        # `parallel_tests` of them at once shares only the CPUs.
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, limits.get("parallel_tests", 1))) as pool:
            grade.tests = list(pool.map(run_one, range(1, len(runs) + 1)))
        grade.passed = sum(t.passed for t in grade.tests)
        grade.total = sum(not t.skipped for t in grade.tests)
        first = next((t for t in grade.tests if not t.passed and not t.skipped), None)
        if first is not None:
            excerpt = ctest.failure_excerpt(first.output) or first.output[-1500:]
            grade.message = f"{first.short_name} ({first.status}): {excerpt}"[:2000]

    def _before_main(self, exercise: Exercise, grade: ExerciseGrade, probe: sandbox.Completed,
                     trusted: _Trusted) -> None:
        if probe.timed_out:
            status, sentence = "timeout", f"{exercise.name}: the test binary hangs before any test starts (a static initializer?)"
        elif probe.status is not None and (probe.status < 0 or probe.status > 128):
            status, sentence = "crashed", (f"{exercise.name}: the test binary crashes before any test starts "
                                           "(a static initializer that throws or crashes?)")
        else:
            status, sentence = "failed", (f"{exercise.name}: the test binary exits with status {probe.status} "
                                          "before any test starts (a static initializer?)")
        tail = clean_text(probe.output.decode(errors="replace"), *self._paths())[-1500:]
        grade.notes.append(sentence)
        grade.message = sentence + ("\n" + tail if tail.strip() else "")
        for ranks in trusted.ranks or [0]:
            for test in trusted.tests:
                name = f"{exercise.name}/{ranks}_ranks/{test}" if ranks else f"{exercise.name}/{test}"
                grade.tests.append(ctest.TestResult(name, status, 0.0, len(grade.tests) + 1, "before main",
                                                    sentence))

    def _run_test(self, exercise: Exercise, test: str, ranks: int, name: str, number: int) -> ctest.TestResult:
        limits = self.config.limits
        binary = f"{self._paths()[1]}/{exercise.test_target}"
        if ranks:
            command = [*self._mpiexec(ranks), "sh", "-c", _RANK, binary, f"--gtest_filter={test}"]
            report_names = [f"rank-{r}.json" for r in range(ranks)]
        else:
            command = [binary, f"--gtest_filter={test}"]
            report_names = ["report.json"]
        timeout = limits["test_timeout_seconds"]
        max_output = limits["output_bytes_per_test"]
        run, _ = self._run(["sh", "-c", _RUN_ONE, "sh", "@REPORT@", *command], timeout, report=True,
                           max_output=max_output)
        status, detail, why = judge(test, run, report_names, timeout, self.limits.memory_mib, max_output)
        text = why
        if status != "passed":
            console = clean_text(run.output.decode(errors="replace"), *self._paths())
            if status == "failed" and detail == "":
                text = clean_text(why, *self._paths())
            elif console.strip():
                text = why + "\n" + console[-3000:]
        return ctest.TestResult(name, status, round(run.seconds, 3), number, detail, text)
