"""`kata verify`: every solution passes its tests, and every stub fails some.

A stub that passes all its tests would mean the tests cannot fail; a stub that
hangs or crashes would make a student's first run miserable. Both are errors.
"""
from __future__ import annotations

import dataclasses

from . import build, ctest, term
from .course import Exercise


@dataclasses.dataclass
class Verdict:
    ok: bool
    summary: str


def judge_stub(results: list[ctest.TestResult], compiled: bool = True) -> Verdict:
    if not compiled:
        return Verdict(False, "the stub does not compile")
    if not results:
        return Verdict(False, "no tests ran")
    broken = [r for r in results if r.status in ("timeout", "crashed")]
    if broken:
        first = broken[0]
        return Verdict(False, f"{len(broken)} tests hung or crashed, e.g. {first.short_name} ({first.status})")
    failed = sum(r.status == "failed" for r in results)
    if failed == 0:
        return Verdict(False, f"the stub passes all {len(results)} tests: they cannot fail")
    return Verdict(True, f"{failed}/{len(results)} fail")


def judge_solution(results: list[ctest.TestResult], compiled: bool = True) -> Verdict:
    if not compiled:
        return Verdict(False, "does not compile")
    if not results:
        return Verdict(False, "no tests ran")
    # A test that skips itself (09's two hosts without root) says why it could not
    # run here; it is not a failure of the solution.
    skipped = [r for r in results if r.detail == "Skipped"]
    failed = [r for r in results if not r.passed and r not in skipped]
    if failed:
        return Verdict(False, f"{len(failed)}/{len(results)} fail, e.g. {failed[0].short_name} ({failed[0].status})")
    ran = len(results) - len(skipped)
    note = f", {len(skipped)} skipped ({', '.join(r.short_name for r in skipped)})" if skipped else ""
    return Verdict(True, f"{ran}/{ran} pass{note}")


def _by_exercise(results: list[ctest.TestResult]) -> dict[str, list[ctest.TestResult]]:
    grouped: dict[str, list[ctest.TestResult]] = {}
    for result in results:
        grouped.setdefault(result.exercise, []).append(result)
    return grouped


def _label_regex(names: list[str]) -> str:
    return "^(" + "|".join(names) + ")$"


def _build_and_test(preset: str, exercises: list[Exercise], options: dict[str, str],
                    targets: list[str] | None, with_common: bool):
    root = exercises[0].root
    configured = build.configure(preset, options, root=root)
    if not configured.ok:
        return configured, [], ""
    built = build.build(preset, targets, root=root)
    if not built.ok:
        return built, [], ""
    labels = [e.name for e in exercises] + (["common"] if with_common else [])
    results, console = ctest.run(build.build_dir(preset, root), extra=["-L", _label_regex(labels)])
    return built, results, console


def _ctest_summary(console: str) -> str:
    return "\n".join(l for l in console.splitlines() if "tests passed" in l or "Total Test time" in l)


def verify(exercises: list[Exercise], werror: bool = False, asan: bool = False) -> int:
    options = {"KATA_WERROR": "ON" if werror else "OFF"}
    test_targets = [e.test_target for e in exercises]
    columns = {}

    print(term.bold("Stubs (each exercise must fail at least one test, and never hang or crash)"), flush=True)
    stub_build, stub_results, _ = _build_and_test("student", exercises, options, test_targets, False)
    if not stub_build.ok:
        print(stub_build.first_error())
    grouped = _by_exercise(stub_results)
    columns["stub"] = {e.name: judge_stub(grouped.get(e.name, []), stub_build.ok) for e in exercises}

    presets = [("solutions", None)] + ([("asan", test_targets + ["common_test"])] if asan else [])
    counts = {"passed": 0, "failed": 0}
    for preset, targets in presets:
        print(term.bold(f"Solutions, {preset} build (every test must pass)"), flush=True)
        built, results, console = _build_and_test(preset, exercises, options, targets, True)
        if not built.ok:
            print(built.first_error())
        else:
            print(_ctest_summary(console))
        for result in results:
            if not result.passed:
                print(term.bad(f"  {result.status}: {result.name}"))
                print("    " + ctest.failure_excerpt(result.output, 12).replace("\n", "\n    "))
        counts["passed"] += sum(r.passed for r in results)
        counts["failed"] += sum(not r.passed for r in results)
        grouped = _by_exercise(results)
        columns[preset] = {name: judge_solution(grouped.get(name, []), built.ok)
                           for name in [*(e.name for e in exercises), "common"]}

    rows = []
    all_ok = True
    for name in [e.name for e in exercises] + ["common"]:
        row = [name]
        for column in columns.values():
            verdict = column.get(name)
            if verdict is None:
                row.append("")
                continue
            all_ok &= verdict.ok
            row.append((term.ok("ok  ") if verdict.ok else term.bad("FAIL")) + " " + verdict.summary)
        rows.append(row)
    print()
    print(term.table(rows, ["exercise", *[_column_title(c) for c in columns]]))
    bad_stubs = sum(not v.ok for v in columns["stub"].values())
    print()
    print(f"verify: {counts['passed']} passed, {counts['failed'] + bad_stubs} failed")
    return 0 if all_ok and counts["failed"] == 0 else 1


def _column_title(column: str) -> str:
    return {"stub": "stub (must fail)", "solutions": "solution", "asan": "solution, ASan+UBSan"}[column]

