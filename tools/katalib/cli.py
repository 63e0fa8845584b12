"""`kata`: the course's front end. One command per thing a student or instructor does."""
from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import subprocess
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


def _print_failure(result: ctest.TestResult, title: str) -> None:
    """One failing test: its sentence first, then gtest's details, then what it usually means."""
    print(term.bold(f"\n{title}{result.short_name}") + (
        term.warn(f"  ({result.status}{': ' + result.detail if result.detail else ''})")
        if result.status != "failed" else ""))
    excerpt = ctest.failure_excerpt(result.output)
    if excerpt:
        print("  " + excerpt.replace("\n", "\n  "))
    lesson = lessons.explain(result)
    if lesson:
        print(term.warn("What it usually means: ") + lesson)


def _print_failures(run: runner.ExerciseRun, every: bool) -> None:
    failing = [r for r in run.results if not r.passed]
    if not failing:
        return
    if not every:
        _print_failure(failing[0], "First failure: ")
        if len(failing) > 1:
            print(term.dim(f"(./kata test {run.exercise.number} --all shows all {len(failing)} failures)"))
        return
    for number, result in enumerate(failing, 1):
        _print_failure(result, f"{number}/{len(failing)} ")


def _next_exercise(exercise: course.Exercise) -> course.Exercise | None:
    names = course.exercise_names(exercise.root)
    index = names.index(exercise.name)
    return course.Exercise(names[index + 1], exercise.root) if index + 1 < len(names) else None


def _test_and_report(exercise: course.Exercise, command: str, every: bool = False,
                     tests: str | None = None) -> runner.ExerciseRun:
    """Builds and tests an exercise, remembers the result, and tells the student what next
    (`command` is how they go on: "test" or "watch"; `every`: all failures, not the first;
    `tests`: only the tests whose name matches, a run `kata status` does not remember)."""
    run = runner.run_exercise(exercise, tests=tests)
    if tests is None:
        runner.remember(run)
    if tests and run.compiled and not run.results:
        print(term.bad(f"No test of {exercise.name} matches '{tests}'."))
        return run
    _print_run(run)
    if run.done and tests:
        return run
    if run.done:
        following = _next_exercise(exercise)
        print(term.ok(f"\n{exercise.number} passes! See the lesson in numbers: ./kata bench {exercise.number}"))
        if following:
            print(f"Next: {following.number} · {following.title}  (./kata {command} {following.number})")
        else:
            print("That was the last exercise.")
        return run
    if run.compiled:
        _print_failures(run, every)
    hints = exercise.hints()
    if hints:
        print(term.dim(f"\nStuck? ./kata hint {exercise.number} ({len(hints)} hints, one at a time)"))
    return run


def cmd_test(args) -> int:
    exercise = course.find(args.exercise)
    if not prereqs.ensure():
        return 2
    print(term.dim(f"building and testing {exercise.name} ..."), flush=True)
    run = _test_and_report(exercise, "test", every=args.all, tests=args.k)
    if args.json:
        import pathlib

        pathlib.Path(args.json).write_text(json.dumps(runner.to_json(run)), encoding="utf-8")
    return 0 if run.done else 1


def cmd_watch(args) -> int:
    exercise = course.find(args.exercise) if args.exercise else _first_unfinished()
    full_screen = not args.plain and sys.stdin.isatty() and sys.stdout.isatty() and os.environ.get(
        "TERM", "dumb") != "dumb"
    if full_screen:
        from . import screen

        size = os.get_terminal_size(sys.stdout.fileno())
        small = screen.too_small(size.columns, size.lines)
        if small:
            print(small, file=sys.stderr)
            return 2
    if not prereqs.ensure():
        return 2
    if full_screen:
        return screen.run(exercise, use_inotify=False if args.poll else None)
    how = "polling" if args.poll or not shutil.which("inotifywait") else "inotify"
    runs = 0
    while True:
        print(term.dim(f"\n--- {exercise.name}: building and testing ---"), flush=True)
        run = _test_and_report(exercise, "watch", every=True)
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
    unknown = [e for e in course.exercises() if runner.cached(e) is None]
    if unknown:
        # One parallel build and one ctest run for every exercise not known yet.
        line = term.StatusLine()
        for run in runner.run_course(unknown, progress=line.show):
            runner.remember(run)
        line.clear()
    rows, done, next_up = [], 0, None
    for exercise in course.exercises():
        entry = runner.cached(exercise) or {"compiled": False, "passed": 0, "total": 0}
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
        print(f"{exercise.name} has no hints: read {exercise.readme.relative_to(exercise.root)}.", file=sys.stderr)
        return 1
    if args.all:
        for number, hint in enumerate(hints, 1):
            print(f"{number}. {hint}\n")
        return 0
    seen = state.load("hints.json")
    index = 0 if args.reset else seen.get(exercise.name, 0)
    if index >= len(hints):
        print(f"No hints left for {exercise.name}: you have seen all {len(hints)} "
              f"(./kata hint {exercise.number} --all shows them again, --reset starts over).", file=sys.stderr)
        return 1
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


def _submission_paths(specs: list[str]) -> list[str]:
    """Each submission as given; a pattern no shell expanded (`docker run IMAGE kata grade /subs/*`)
    is expanded here."""
    import glob
    import os

    paths = []
    for spec in specs:
        matches = sorted(glob.glob(spec)) if glob.has_magic(spec) and not os.path.exists(spec) else []
        paths += matches or [spec]
    return paths


def cmd_grade(args) -> int:
    import json
    import pathlib

    from . import grade, intake, reports

    if not prereqs.ensure(for_grade=True):
        return 2
    exercises = [course.find(name) for name in args.exercises] if args.exercises else course.exercises()
    config_path = pathlib.Path(args.config) if args.config else course.ROOT / "grading.json"
    try:
        config = grade.Config.load(config_path)
    except (OSError, ValueError, KeyError) as error:
        print(f"{config_path}: cannot use it as grading.json ({error})", file=sys.stderr)
        return 2
    results = []
    signal.signal(signal.SIGTERM, signal.default_int_handler)  # killed: still remove the sandboxes' trees
    bench = None
    try:
        with grade.Grader(exercises, config) as grader:
            if grader.missing:
                print(term.warn(f"Not fully sandboxed: {grader.missing}."), file=sys.stderr)
            if args.bench:
                from . import benchgrade

                try:
                    bench = benchgrade.BenchGrader(grader, benchgrade.load_settings(config_path))
                except (TypeError, ValueError) as error:
                    print(f"{config_path}: its \"bench\" settings are not usable ({error})", file=sys.stderr)
                    return 2
            for submission in _submission_paths(args.submissions):
                print(term.dim(f"grading {submission} ..."), file=sys.stderr, flush=True)
                path = pathlib.Path(submission)
                try:
                    result = grader.grade(path)
                except (OSError, RuntimeError, ValueError) as error:  # the grader's machinery, not the code
                    print(term.bad(f"{submission}: the grader failed: {error}"), file=sys.stderr)
                    result = grade.SubmissionGrade(submission, [grade.ExerciseGrade(e.name, config.weight(e.name))
                                                                for e in exercises])
                    result.problems.append(f"the grader failed on this machine, not on your code ({error}): "
                                           "ask your instructor to grade it again")
                    results.append(result)
                    continue
                result.problems = intake.problems(path, exercises) + result.problems
                if bench is not None:
                    print(term.dim(f"measuring {submission}'s speed ..."), file=sys.stderr, flush=True)
                    result.bench = bench.grade(path, result.exercises)
                results.append(result)
    except (grade.GradingError, RuntimeError, OSError) as error:
        print(f"kata grade: {error}", file=sys.stderr)
        return 2
    finally:
        if bench is not None:
            bench.close()
    print(reports.markdown(results))
    objects = [reports.gradescope(r) for r in results]
    outputs = [(args.json, lambda: (json.dumps(objects[0], indent=2) + "\n" if len(objects) == 1
                                    else "".join(json.dumps(o) + "\n" for o in objects))),
               (args.junit, lambda: reports.junit(results)), (args.csv, lambda: reports.class_csv(results)),
               (args.tests_csv, lambda: reports.tests_csv(results))]
    for path, text in outputs:
        if path:
            try:
                pathlib.Path(path).write_text(text(), encoding="utf-8")
            except OSError as error:
                print(f"cannot write {path}: {error.strerror or error}", file=sys.stderr)
                return 2
    return 0


def cmd_autograder(args) -> int:
    import pathlib

    from . import autograder

    exercises = [course.find(name).name for name in args.exercises] if args.exercises else None
    try:
        target = autograder.build_zip(pathlib.Path(args.out), bench=args.bench, exercises=exercises)
    except OSError as error:
        print(f"cannot write the zip into {args.out}: {error.strerror or error}", file=sys.stderr)
        return 2
    print(f"Wrote {target}: upload it as the assignment's autograder on Gradescope "
          "(Ubuntu base image).")
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
    problems = course.check()
    if problems:
        for problem in problems:
            print(term.bad("manifest: ") + problem)
        print(f"verify: {len(problems)} problems in the course's manifests; nothing was built")
        return 1
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
    test.add_argument("--all", action="store_true",
                      help="every failing test with its sentence and explanation (default: the first)")
    test.add_argument("-k", metavar="PATTERN",
                      help="only the tests whose name matches PATTERN (a regular expression, ctest -R)")
    test.add_argument("--json", metavar="FILE", help=argparse.SUPPRESS)  # what the watch screen reads
    test.set_defaults(run=cmd_test)

    watcher = commands.add_parser("watch", help="rerun an exercise's tests whenever you save")
    watcher.add_argument("exercise", nargs="?", help="default: the first one not done")
    watcher.add_argument("--poll", action="store_true", help="poll for changes instead of using inotify")
    watcher.add_argument("--plain", action="store_true",
                         help="a scrolling log instead of the full screen (the default without a terminal)")
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
    grader.add_argument("--json", metavar="FILE",
                        help="Gradescope's results.json, one entry per test: one JSON object for one "
                        "submission; for several, JSON Lines (one object per line, in the order given)")
    grader.add_argument("--junit", metavar="FILE", help="JUnit XML: a testsuite per submission and exercise")
    grader.add_argument("--csv", metavar="FILE", help="one row per submission (its points per exercise), for a class")
    grader.add_argument("--tests-csv", metavar="FILE", help="one row per submission and test, with its message")
    grader.add_argument("--bench", action="store_true",
                        help="also time each passing exercise against the reference, in turns, and award "
                        "grading.json's \"bench\" points (slow; off by default)")
    grader.add_argument("--config", metavar="FILE", help="weights and limits (default: grading.json)")
    grader.set_defaults(run=cmd_grade)

    autograding = commands.add_parser("autograder", help="instructors: the autograder for a grading platform")
    platforms = autograding.add_subparsers(dest="platform", metavar="PLATFORM", required=True)
    gradescope = platforms.add_parser("gradescope", help="the zip to upload to Gradescope: setup.sh, "
                                      "run_autograder and the course")
    gradescope.add_argument("--out", metavar="DIR", default=".", help="where to write kata-gradescope.zip (.)")
    gradescope.add_argument("--bench", action="store_true", help="grade speed too (puts the reference "
                            "solutions in the zip, readable by root only)")
    gradescope.add_argument("--exercises", nargs="+", metavar="EXERCISE", help="grade only these exercises")
    gradescope.set_defaults(run=cmd_autograder)

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

    helper = commands.add_parser("help", help="what kata does, or what one COMMAND does")
    helper.add_argument("topic", nargs="?", metavar="COMMAND")
    helper.set_defaults(run=lambda args: cmd_help(args, parser, commands))
    return parser


def cmd_help(args, parser: argparse.ArgumentParser, commands) -> int:
    if not args.topic:
        parser.print_help()
        return 0
    sub = commands.choices.get(args.topic)
    if sub is None:
        print(f"kata has no command '{args.topic}': the commands are {', '.join(commands.choices)}.",
              file=sys.stderr)
        return 2
    sub.print_help()
    return 0


def main(argv: list[str]) -> int:
    """The one place where every command's end is handled: no traceback reaches the user
    for a bad exercise name, output piped into `head`, or Ctrl-C."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
        code = args.run(args) if getattr(args, "run", None) else (parser.print_help() or 0)
        sys.stdout.flush()  # a closed pipe shows here, not at exit
        return code
    except (course.UnknownExercise, course.ManifestError) as error:
        print(f"kata: {error}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader left (./kata hint 08 | head -3): nothing more to say, and Python must
        # not try to flush into the closed pipe again at exit.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 141
    except KeyboardInterrupt:
        print("\nkata: interrupted", file=sys.stderr)
        return 130
    except (OSError, subprocess.CalledProcessError) as error:
        # A tool that could not start or failed (cmake, apt-get, a full disk): one line.
        print(f"kata: {error}", file=sys.stderr)
        return 1
