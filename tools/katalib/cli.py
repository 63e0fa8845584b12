"""`kata`: the course's front end. One command per thing a student or instructor does."""
from __future__ import annotations

import argparse
import shutil
import sys

from . import course, ctest, lessons, prereqs, reset, runner, state, term, verify, watch

SYMBOL_PASS = "✓" if (sys.stdout.encoding or "").lower().startswith("utf") else "+"
SYMBOL_FAIL = "✗" if SYMBOL_PASS == "✓" else "x"


def cmd_list(_args) -> int:
    rows = []
    for exercise in course.exercises():
        entry = runner.cached(exercise)
        progress = f"{entry['passed']}/{entry['total']}" if entry and entry["compiled"] else ""
        rows.append([exercise.number, exercise.name, exercise.title, progress])
    print(term.table(rows, ["#", "exercise", "what it teaches", "tests"]))
    print(term.dim("\nStart with ./kata test 01; ./kata status shows where you are."))
    return 0


def _print_run(run: runner.ExerciseRun, list_limit: int = 12) -> None:
    exercise = run.exercise
    print(term.bold(f"{exercise.number} · {exercise.title}") + term.dim(f"  ({exercise.folder.relative_to(exercise.root)})"))
    if not run.compiled:
        print(term.bad("It does not compile yet. The compiler's first complaint:\n"))
        print(run.build.first_error())
        return
    failing = [r for r in run.results if not r.passed]
    for result in failing[:list_limit]:
        reason = "" if result.status == "failed" else term.warn(f"  ({result.status}{': ' + result.detail if result.detail else ''})")
        print(f"  {term.bad(SYMBOL_FAIL)} {result.short_name}{reason}")
    if len(failing) > list_limit:
        print(term.dim(f"  ... and {len(failing) - list_limit} more"))
    colour = term.ok if run.done else term.bad
    print(colour(f"{run.passed}/{run.total} tests pass"))


def _print_first_failure(run: runner.ExerciseRun) -> None:
    first = run.first_failure()
    if first is None:
        return
    print(term.bold(f"\nFirst failure: {first.short_name}"))
    excerpt = ctest.failure_excerpt(first.output)
    if excerpt:
        print("  " + excerpt.replace("\n", "\n  "))
    lesson = lessons.explain(first)
    if lesson:
        print(term.warn("\nWhat it usually means: ") + lesson)


def _next_exercise(exercise: course.Exercise) -> course.Exercise | None:
    names = course.exercise_names(exercise.root)
    index = names.index(exercise.name)
    return course.Exercise(names[index + 1], exercise.root) if index + 1 < len(names) else None


def _test_and_report(exercise: course.Exercise, command: str) -> runner.ExerciseRun:
    """Builds and tests an exercise, remembers the result, and tells the student what next
    (`command` is how they go on: "test" or "watch")."""
    run = runner.run_exercise(exercise)
    runner.remember(run)
    _print_run(run)
    if run.done:
        following = _next_exercise(exercise)
        print(term.ok(f"\n{exercise.number} passes! See the lesson in numbers: ./kata bench {exercise.number}"))
        if following:
            print(f"Next: {following.number} · {following.title}  (./kata {command} {following.number})")
        else:
            print("That was the last exercise.")
        return run
    if run.compiled:
        _print_first_failure(run)
    hints = exercise.hints()
    if hints:
        print(term.dim(f"\nStuck? ./kata hint {exercise.number} ({len(hints)} hints, one at a time)"))
    return run


def cmd_test(args) -> int:
    exercise = course.find(args.exercise)
    if not prereqs.ensure():
        return 2
    print(term.dim(f"building and testing {exercise.name} ..."), flush=True)
    return 0 if _test_and_report(exercise, "test").done else 1


def cmd_watch(args) -> int:
    if not prereqs.ensure():
        return 2
    exercise = course.find(args.exercise) if args.exercise else _first_unfinished()
    how = "polling" if args.poll or not shutil.which("inotifywait") else "inotify"
    runs = 0
    while True:
        print(term.dim(f"\n--- {exercise.name}: building and testing ---"), flush=True)
        run = _test_and_report(exercise, "watch")
        runs += 1
        if args.max_runs and runs >= args.max_runs:
            return 0 if run.done else 1
        print(term.dim(f"\nwatching {exercise.folder.relative_to(exercise.root)}/ ({how}; Ctrl-C to stop)"),
              flush=True)
        while not watch.wait_for_change(exercise.folder, use_inotify=False if args.poll else None,
                                        timeout=args.idle_timeout):
            if args.idle_timeout:
                return 0 if run.done else 1


def _first_unfinished() -> course.Exercise:
    for exercise in course.exercises():
        entry = runner.cached(exercise)
        if not (entry and entry["compiled"] and entry["total"] and entry["passed"] == entry["total"]):
            return exercise
    return course.exercises()[-1]


def cmd_reset(args) -> int:
    exercise = course.find(args.exercise)
    changed = reset.changed_files(exercise)
    if not changed:
        print(f"{exercise.name} is already as shipped.")
        return 0
    names = ", ".join(str(f.relative_to(exercise.root)) for f in changed)
    if not args.yes:
        if not sys.stdin.isatty():
            print(f"Would reset {names}; run with --yes to confirm.", file=sys.stderr)
            return 2
        answer = input(f"Reset {names} to the shipped stub? Your version is kept in .kata/backup/. [y/N] ")
        if answer.strip().lower() not in ("y", "yes"):
            print("Nothing changed.")
            return 1
    backup = reset.reset(exercise)
    print(f"Reset {names}. Your version is in {backup.relative_to(exercise.root)}/")
    return 0


def cmd_status(_args) -> int:
    if not prereqs.ensure():
        return 2
    rows, done, next_up = [], 0, None
    for exercise in course.exercises():
        entry = runner.cached(exercise)
        if entry is None:
            print(term.dim(f"checking {exercise.name} ..."), flush=True)
            runner.remember(runner.run_exercise(exercise))
            entry = runner.cached(exercise)
        finished = entry["compiled"] and entry["total"] > 0 and entry["passed"] == entry["total"]
        if not entry["compiled"]:
            what = term.bad("does not compile")
        elif finished:
            what = term.ok("done")
        elif entry["passed"] == 0:
            what = "not started"
        else:
            what = term.warn("in progress")
        done += finished
        if not finished and next_up is None:
            next_up = exercise
        rows.append([exercise.name, f"{entry['passed']}/{entry['total']}", what])
    total = len(rows)
    print(term.table(rows, ["exercise", "tests", "state"]))
    print("\n" + term.progress_bar(done, total) + " exercises done")
    if next_up:
        print(f"Next: ./kata test {next_up.number}   ({next_up.title})")
    else:
        print(term.ok("Every exercise is done. Well done!"))
    return 0


def cmd_hint(args) -> int:
    exercise = course.find(args.exercise)
    hints = exercise.hints()
    if not hints:
        print(f"{exercise.name} has no hints yet: read {exercise.readme.relative_to(exercise.root)}.")
        return 0
    if args.all:
        for number, hint in enumerate(hints, 1):
            print(f"{number}. {hint}\n")
        return 0
    seen = state.load("hints.json")
    index = 0 if args.reset else seen.get(exercise.name, 0)
    index = min(index, len(hints) - 1)
    print(term.bold(f"Hint {index + 1} of {len(hints)} for {exercise.name}:"))
    print(hints[index])
    if index + 1 < len(hints):
        print(term.dim(f"\n(./kata hint {exercise.number} again for the next one)"))
    else:
        print(term.dim("\nThat was the last hint." + (
            f" The reference solution is in solutions/{exercise.name}/ : try without it first."
            if (exercise.root / "solutions").is_dir() else "")))
    seen[exercise.name] = index + 1
    state.save("hints.json", seen)
    return 0


def cmd_grade(args) -> int:
    import json
    import pathlib

    from . import grade, reports

    if not prereqs.ensure():
        return 2
    exercises = [course.find(name) for name in args.exercises] if args.exercises else course.exercises()
    config = grade.Config.load(pathlib.Path(args.config) if args.config else course.ROOT / "grading.json")
    grader = grade.Grader(exercises, config)
    if not grader.isolated:
        print(term.warn("Not root: submissions run as you, with resource limits only. "
                        "Grade as root (in a VM or container) to isolate them."), file=sys.stderr)
    results = []
    for submission in args.submissions:
        print(term.dim(f"grading {submission} ..."), file=sys.stderr, flush=True)
        results.append(grader.grade(pathlib.Path(submission)))
    print(reports.markdown(results))
    if args.json:
        data = reports.gradescope(results[0]) if len(results) == 1 else [
            {"submission": r.submission, **reports.gradescope(r)} for r in results]
        pathlib.Path(args.json).write_text(json.dumps(data, indent=2), encoding="utf-8")
    if args.junit:
        pathlib.Path(args.junit).write_text(reports.junit(results), encoding="utf-8")
    if args.csv:
        pathlib.Path(args.csv).write_text(reports.class_csv(results), encoding="utf-8")
    return 0


def cmd_export_student(args) -> int:
    import pathlib

    from . import export

    destination = pathlib.Path(args.directory)
    files = export.export(destination)
    print(f"Wrote the student copy to {destination}: {len(files)} files, no solutions/.")
    print(f"Students start with: cd {destination} && ./kata test 01")
    return 0


def cmd_verify(args) -> int:
    if not (course.ROOT / "solutions").is_dir():
        print("kata verify needs the reference solutions (solutions/), which a student copy does not have.",
              file=sys.stderr)
        return 2
    if not prereqs.ensure():
        return 2
    exercises = [course.find(name) for name in args.only] if args.only else course.exercises()
    if args.mutants:
        from . import mutants

        return mutants.verify_mutants(exercises)
    return verify.verify(exercises, werror=args.werror, asan=args.asan)


def cmd_bench(args) -> int:
    import pathlib

    from . import bench

    if not prereqs.ensure(for_bench=True):
        return 2
    preset = "solutions" if args.reference else "student" if args.student else ""
    options = bench.Options(repetitions=args.repetitions, min_time=args.min_time, preset=preset,
                            markdown=args.markdown, replay=pathlib.Path(args.replay) if args.replay else None,
                            readme=args.readme)
    return bench.run(args.exercises, options)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="kata",
        description="The parallel kata: Linux multiprocessing, one exercise at a time.",
        epilog="A student's loop: ./kata test 01, edit exercises/01_cpu_count/*.cpp, repeat.",
    )
    commands = parser.add_subparsers(dest="command", metavar="COMMAND")

    commands.add_parser("list", help="the exercises, in order").set_defaults(run=cmd_list)

    test = commands.add_parser("test", help="build an exercise and run its tests")
    test.add_argument("exercise", help="its number (01) or name")
    test.set_defaults(run=cmd_test)

    watcher = commands.add_parser("watch", help="rerun an exercise's tests whenever you save")
    watcher.add_argument("exercise", nargs="?", help="default: the first one not done")
    watcher.add_argument("--poll", action="store_true", help="poll for changes instead of using inotify")
    watcher.add_argument("--max-runs", type=int, default=0, help=argparse.SUPPRESS)
    watcher.add_argument("--idle-timeout", type=float, default=None, help=argparse.SUPPRESS)
    watcher.set_defaults(run=cmd_watch)

    resetter = commands.add_parser("reset", help="put an exercise's stub back as shipped (keeps a backup)")
    resetter.add_argument("exercise")
    resetter.add_argument("--yes", action="store_true", help="do not ask")
    resetter.set_defaults(run=cmd_reset)

    commands.add_parser("status", help="every exercise: tests passed, what to do next").set_defaults(run=cmd_status)

    hint = commands.add_parser("hint", help="the next hint for an exercise")
    hint.add_argument("exercise")
    hint.add_argument("--all", action="store_true", help="show every hint at once")
    hint.add_argument("--reset", action="store_true", help="start again from the first hint")
    hint.set_defaults(run=cmd_hint)

    bencher = commands.add_parser("bench", help="the lesson in numbers: benchmarks beside the notebook's Python")
    bencher.add_argument("exercises", nargs="*", metavar="EXERCISE", help="default: every exercise")
    which = bencher.add_mutually_exclusive_group()
    which.add_argument("--reference", action="store_true", help="measure the reference solutions")
    which.add_argument("--student", action="store_true", help="measure your code even if its tests fail")
    bencher.add_argument("--repetitions", type=int, default=3, help="runs of each benchmark, median shown (3)")
    bencher.add_argument("--min-time", type=float, default=0.1, help="Google Benchmark's minimum seconds per run")
    bencher.add_argument("--markdown", action="store_true", help="print the report as Markdown (for a README)")
    bencher.add_argument("--readme", action="store_true",
                         help="also write the run into README.md's measured section (maintainers)")
    bencher.add_argument("--replay", metavar="DIR", help="tables and charts from a run kept in DIR "
                         "(build/bench/raw), without running anything")
    bencher.set_defaults(run=cmd_bench)

    grader = commands.add_parser("grade", help="instructors: grade submissions (a repository or its exercises/)")
    grader.add_argument("submissions", nargs="+", metavar="SUBMISSION")
    grader.add_argument("--exercises", nargs="+", metavar="EXERCISE", help="only these exercises")
    grader.add_argument("--json", metavar="FILE", help="Gradescope results.json (a list for several submissions)")
    grader.add_argument("--junit", metavar="FILE", help="JUnit XML")
    grader.add_argument("--csv", metavar="FILE", help="one row per submission, for a class")
    grader.add_argument("--config", metavar="FILE", help="weights and limits (default: grading.json)")
    grader.set_defaults(run=cmd_grade)

    exporter = commands.add_parser("export-student", help="instructors: the repository without solutions/")
    exporter.add_argument("directory")
    exporter.set_defaults(run=cmd_export_student)

    check = commands.add_parser("verify", help="solutions pass and stubs fail (what CI runs)")
    check.add_argument("--only", nargs="+", metavar="EXERCISE", help="just these exercises")
    check.add_argument("--werror", action="store_true", help="treat compiler warnings as errors")
    check.add_argument("--asan", action="store_true", help="also run the solutions under ASan+UBSan")
    check.add_argument("--mutants", action="store_true",
                       help="instead, prove the tests catch wrong solutions: every mutant in tests/mutants/ "
                            "must fail a test")
    check.set_defaults(run=cmd_verify)
    return parser


def main(argv: list[str]) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help()
        return 0
    try:
        return args.run(args)
    except course.UnknownExercise as error:
        print(error, file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
