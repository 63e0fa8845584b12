"""Building one exercise's tests and running them: what `test`, `status` and `watch` share."""
from __future__ import annotations

import dataclasses

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


def run_exercise(exercise: Exercise, preset: str = "student") -> ExerciseRun:
    configured = build.configure(preset, root=exercise.root)
    if not configured.ok:
        return ExerciseRun(exercise, configured, [])
    built = build.build(preset, [exercise.test_target], root=exercise.root)
    if not built.ok:
        return ExerciseRun(exercise, built, [])
    results, _ = ctest.run(build.build_dir(preset, exercise.root), label=exercise.name)
    return ExerciseRun(exercise, built, results)


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
