"""Building one exercise's tests and running them: what `test`, `status` and `watch` share."""
from __future__ import annotations

import dataclasses
import json
import os
import re
import subprocess
import tempfile
import pathlib

from . import build, ctest, state
from .course import Exercise


@dataclasses.dataclass
class ExerciseRun:
    exercise: Exercise
    build: build.BuildResult
    results: list[ctest.TestResult]

    @property
    def compiled(self) -> bool:
        return self.build.ok

    @property
    def passed(self) -> int:
        return sum(r.passed for r in self.results)

    @property
    def total(self) -> int:
        return len(self.results)

    @property
    def done(self) -> bool:
        return self.compiled and self.total > 0 and self.passed == self.total

    def first_failure(self) -> ctest.TestResult | None:
        return next((r for r in self.results if not r.passed), None)


def run_exercise(exercise: Exercise, preset: str = "student", tests: str | None = None) -> ExerciseRun:
    """Builds the exercise's tests and runs them: all, or those whose name matches `tests`
    (a regular expression, ctest -R)."""
    configured = build.configure(preset, root=exercise.root)
    if not configured.ok:
        return ExerciseRun(exercise, configured, [])
    built = build.build(preset, [exercise.test_target], root=exercise.root)
    if not built.ok:
        return ExerciseRun(exercise, built, [])
    extra = ["-R", tests] if tests else None
    results, _ = ctest.run(build.build_dir(preset, exercise.root), label=exercise.name, extra=extra)
    return ExerciseRun(exercise, built, results)


def run_course(exercises: list[Exercise], progress=None, preset: str = "student") -> list[ExerciseRun]:
    """Every exercise at once, as fast as the machine allows: one parallel build of all
    their tests that goes on past a broken exercise, then one parallel ctest run.

    `progress(phase, done, total, detail)` hears "building" and "testing" steps, counted
    in exercises (detail: ninja's or ctest's own count)."""
    if not exercises:
        return []
    root = exercises[0].root
    report = progress or (lambda *_: None)
    configured = build.configure(preset, root=root)
    if not configured.ok:
        return [ExerciseRun(e, configured, []) for e in exercises]

    linked: set[str] = set()

    def on_step(done: int, total: int, line: str) -> None:
        linked.update(e.name for e in exercises if line.endswith(f" {e.test_target}"))
        report("building", len(linked), len(exercises), f"step {done}/{total}")

    report("building", 0, len(exercises), "")
    everything = build.build_all(preset, [e.test_target for e in exercises], on_step, root=root)
    report("building", len(exercises), len(exercises), "")
    builds = {}
    for exercise in exercises:
        # After a failed build, each exercise's own (incremental) build says whether it
        # compiled and, if not, gives its own first error.
        builds[exercise.name] = everything if everything.ok else build.build(
            preset, [exercise.test_target], root=root)
    compiled = [e for e in exercises if builds[e.name].ok]
    results = _test_many(compiled, build.build_dir(preset, root), report)
    return [ExerciseRun(e, builds[e.name], results.get(e.name, [])) for e in exercises]


def _test_many(exercises: list[Exercise], build_dir: pathlib.Path, report) -> dict[str, list[ctest.TestResult]]:
    """One ctest run over the tests of many exercises, with progress per exercise."""
    if not exercises:
        return {}
    labels = ["-L", "^(" + "|".join(re.escape(e.name) for e in exercises) + ")$"]
    totals = _test_counts(build_dir, labels)
    finished: dict[str, int] = {}
    report("testing", 0, len(exercises), "")
    with tempfile.TemporaryDirectory(prefix="kata-ctest-") as tmp:
        junit = pathlib.Path(tmp) / "junit.xml"
        command = ["ctest", "--test-dir", str(build_dir), "-j", str(os.cpu_count() or 2),
                   "--output-junit", str(junit), *labels]
        results: dict[str, ctest.TestResult] = {}
        with subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                              errors="replace") as process:
            for line in process.stdout:
                for name, result in ctest.parse_console(line).items():
                    results[name] = result
                    finished[result.exercise] = finished.get(result.exercise, 0) + 1
                    done = sum(1 for e in exercises if finished.get(e.name, 0) >= totals.get(e.name, 0) > 0)
                    report("testing", done, len(exercises), f"{len(results)}/{sum(totals.values()) or '?'} tests")
        if junit.exists():
            for name, output in ctest.parse_junit_outputs(junit.read_text(errors="replace")).items():
                if name in results:
                    results[name].output = output
    by_exercise: dict[str, list[ctest.TestResult]] = {}
    for result in sorted(results.values(), key=lambda r: r.number):
        by_exercise.setdefault(result.exercise, []).append(result)
    return by_exercise


def _test_counts(build_dir: pathlib.Path, labels: list[str]) -> dict[str, int]:
    """How many tests each exercise has (ctest's own list, without running them)."""
    listing = subprocess.run(["ctest", "--test-dir", str(build_dir), "--show-only=json-v1", *labels],
                             capture_output=True, text=True, errors="replace", check=False)
    try:
        tests = json.loads(listing.stdout).get("tests", [])
    except ValueError:
        return {}
    counts: dict[str, int] = {}
    for test in tests:
        exercise = test.get("name", "").split("/", 1)[0]
        counts[exercise] = counts.get(exercise, 0) + 1
    return counts


def remember(run: ExerciseRun) -> None:
    """Records the result for `kata status`, keyed by the fingerprint of the files it came from."""
    cache = state.load("status.json", run.exercise.root)
    cache[run.exercise.name] = {
        "fingerprint": state.fingerprint(run.exercise),
        "compiled": run.compiled,
        "passed": run.passed,
        "total": run.total,
    }
    state.save("status.json", cache, run.exercise.root)


def cached(exercise: Exercise) -> dict | None:
    entry = state.load("status.json", exercise.root).get(exercise.name)
    if entry and entry.get("fingerprint") == state.fingerprint(exercise):
        return entry
    return None


def to_json(run: ExerciseRun) -> dict:
    """A run as data, for the watch screen: what it shows, sentences and explanations included."""
    from . import lessons

    failures = []
    for result in run.results:
        if not result.passed:
            failures.append({"name": result.short_name, "status": result.status, "detail": result.detail,
                             "excerpt": ctest.failure_excerpt(result.output), "kind": lessons.kind_of(result),
                             "explanation": lessons.explain(result, run.exercise.root)})
    return {"exercise": run.exercise.name, "compiled": run.compiled, "passed": run.passed,
            "total": run.total, "done": run.done,
            "first_error": "" if run.compiled else run.build.first_error(), "failures": failures}
