"""`kata verify --mutants`: the course's proof that its tests catch wrong solutions.

tests/mutants/NN_name/*.toml each describe one realistic mistake in the reference
solution of exercise NN_name, as a text replacement:

    description = "usable_cpus() rounds a quota of 1.5 CPUs down to 1"
    file = "cpu_count.cpp"            # in solutions/NN_name/
    find = "std::ceil(*quota)"        # must occur exactly once in that file
    replace = "std::floor(*quota)"
    expect = "UsableCpusRoundsTheQuotaUp"   # optional: the test run first

Each mutant is compiled into a copy of the exercise's test program, and the
exercise's tests run on it, in ctest's order (the `expect` test first), until one
fails: that test caught it. A mutant that passes every test, no longer applies
(its `find` text is gone), or does not compile fails the run.

It reuses the solutions build (build-solutions/, which `kata verify` builds):
only the mutated file is compiled again, with the build's own compile command,
into a scratch folder; it takes the original's place in a copy of the exercise's
static library, which the build's own link command links there. Two mutants
compile at once, while the one before them is tested. The solutions, the build
folder and its programs are never touched.
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import json
import pathlib
import re
import shlex
import shutil
import subprocess
import tempfile
import time
import tomllib

from . import build, term
from .course import Exercise

MUTANTS_DIR = "tests/mutants"
PRESET = "solutions"
BUILD_JOBS = 2  # mutants compiled at once, while the previous one is tested


class MutantError(Exception):
    """A mutant that cannot be run as written: its file is malformed, or its text is gone."""


@dataclasses.dataclass(frozen=True)
class Mutant:
    exercise: str  # "01_cpu_count"
    name: str  # the file's stem: "usable_rounds_down"
    file: str  # the solution file it changes: "cpu_count.cpp"
    find: str
    replace: str
    description: str
    expect: str = ""  # a test name (or the part after the exercise's "/") to run first

    def apply(self, text: str) -> str:
        count = text.count(self.find)
        if count == 0:
            raise MutantError(f"mutant {self.exercise}/{self.name} no longer applies: "
                              f"its find text is not in solutions/{self.exercise}/{self.file}")
        if count > 1:
            raise MutantError(f"mutant {self.exercise}/{self.name} is ambiguous: its find text occurs "
                              f"{count} times in solutions/{self.exercise}/{self.file}")
        return text.replace(self.find, self.replace)


@dataclasses.dataclass
class Outcome:
    mutant: Mutant
    status: str  # caught | survived | broken
    caught_by: str = ""
    seconds: float = 0.0
    detail: str = ""


_FIELDS = {"description", "file", "find", "replace", "expect"}


def parse(exercise: str, name: str, text: str) -> Mutant:
    where = f"{MUTANTS_DIR}/{exercise}/{name}.toml"
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise MutantError(f"{where}: not valid TOML: {error}") from None
    unknown = set(data) - _FIELDS
    if unknown:
        raise MutantError(f"{where}: unknown field(s) {', '.join(sorted(unknown))}")
    for field in ("description", "file", "find", "replace"):
        if not isinstance(data.get(field), str) or (field != "replace" and not data[field].strip()):
            raise MutantError(f"{where}: needs a text field '{field}'")
    if "\n" in data["description"].strip():
        raise MutantError(f"{where}: the description is one line")
    if data["find"] == data["replace"]:
        raise MutantError(f"{where}: find and replace are the same text: it changes nothing")
    if "/" in data["file"] or data["file"].startswith("."):
        raise MutantError(f"{where}: file is a name in solutions/{exercise}/, not a path")
    return Mutant(exercise, name, data["file"], data["find"], data["replace"],
                  data["description"].strip(), str(data.get("expect", "")))


def load(exercise: Exercise) -> list[Mutant]:
    folder = exercise.root / MUTANTS_DIR / exercise.name
    return [parse(exercise.name, path.stem, path.read_text(encoding="utf-8"))
            for path in sorted(folder.glob("*.toml"))]


# ---- Building one mutant from the solutions build's own commands -------------------


@dataclasses.dataclass
class TestCommand:
    name: str  # "01_cpu_count/CpuCountTest.OnlineCpusIsWhatSysconfSays"
    command: list[str]
    timeout: float
    directory: str


class ExerciseBuild:
    """What it takes to rebuild one exercise's test program with one file changed."""

    def __init__(self, exercise: Exercise, scratch: pathlib.Path):
        self.exercise = exercise
        self.scratch = scratch
        self.build_dir = build.build_dir(PRESET, exercise.root)
        self.program = self.build_dir / exercise.test_target
        self.link = self._link_command()
        self.tests = self._test_commands()

    def _link_command(self) -> str:
        listed = subprocess.run(["ninja", "-C", str(self.build_dir), "-t", "commands", self.exercise.test_target],
                                capture_output=True, text=True, check=False)
        lines = [l for l in listed.stdout.splitlines() if f"-o {self.exercise.test_target} " in l
                 or l.rstrip().endswith(f"-o {self.exercise.test_target}")]
        if listed.returncode != 0 or not lines:
            raise MutantError(f"cannot find how {self.exercise.test_target} is linked: {listed.stderr.strip()}")
        return lines[-1]

    def _test_commands(self) -> list[TestCommand]:
        listed = subprocess.run(["ctest", "--test-dir", str(self.build_dir), "-L", f"^{re.escape(self.exercise.name)}$",
                                 "--show-only=json-v1"], capture_output=True, text=True, check=False)
        try:
            tests = json.loads(listed.stdout)["tests"]
        except (ValueError, KeyError):
            raise MutantError(f"ctest did not list the tests of {self.exercise.name}: {listed.stderr.strip()}") from None
        commands = []
        for test in tests:
            properties = {p["name"]: p["value"] for p in test.get("properties", [])}
            commands.append(TestCommand(test["name"], test["command"], float(properties.get("TIMEOUT", 60)),
                                        properties.get("WORKING_DIRECTORY", str(self.build_dir))))
        if not commands:
            raise MutantError(f"ctest lists no tests for {self.exercise.name}")
        return commands

    def compile_command(self, source: pathlib.Path) -> tuple[str, str, str]:
        """The build's command for `source`, its folder, and the object file it writes."""
        entries = json.loads((self.build_dir / "compile_commands.json").read_text())
        for entry in entries:
            if pathlib.Path(entry["file"]) == source and f"/{self.exercise.name}.dir/" in entry["command"]:
                output = re.search(r"\s-o\s+(\S+)", entry["command"])
                if output:
                    return entry["command"], entry["directory"], output.group(1)
        raise MutantError(f"{source} is not compiled into {self.exercise.name} by {self.build_dir.name}/")

    def build_mutant(self, mutant: Mutant, text: str) -> tuple[pathlib.Path | None, str]:
        """Compiles the mutated file and links a test program with it; (program, "") or (None, errors)."""
        source = self.exercise.root / "solutions" / self.exercise.name / mutant.file
        command, directory, original_object = self.compile_command(source)
        # Beside its original, in a scratch copy of the folder: its quoted includes still resolve.
        folder = self.scratch / mutant.name
        shutil.copytree(source.parent, folder / "src", symlinks=False, dirs_exist_ok=True)
        mutated = folder / "src" / mutant.file
        mutated.write_text(text, encoding="utf-8")
        # Named as the archive's member it replaces (ar keeps only the base name).
        object_file = folder / pathlib.Path(original_object).name
        # Debug information only makes the compiler slower: nobody debugs a mutant. And a
        # mutant is judged by the tests, not by warnings (an unused variable, say).
        compile_args = [a for a in shlex.split(command) if a not in ("-g", "-Werror")]
        compile_args = _replace_arg_after(compile_args, "-o", str(object_file))
        compile_args = _replace_arg_after(compile_args, "-c", str(mutated))
        compiled = subprocess.run(compile_args, cwd=directory, capture_output=True, text=True, check=False)
        if compiled.returncode != 0:
            return None, compiled.stdout + compiled.stderr
        # The exercise is a static library: a copy of it with the mutated member in place of
        # the original, linked by the build's own command.
        library = f"lib{self.exercise.name}.a"
        archive = folder / library
        shutil.copy2(self.build_dir / library, archive)
        replaced = subprocess.run(["ar", "r", str(archive), str(object_file)], capture_output=True, text=True,
                                  check=False)
        if replaced.returncode != 0:
            raise MutantError(f"ar could not put the mutant into {library}: {replaced.stderr.strip()}")
        program = folder / self.exercise.test_target
        link = self.link.replace(f" {library} ", f" {archive} ")
        link = re.sub(rf"-o {re.escape(self.exercise.test_target)}(\s|$)", rf"-o {program}\1", link)
        if link == self.link or str(archive) not in link:
            raise MutantError(f"the link command of {self.exercise.test_target} does not name {library}")
        linked = subprocess.run(link, shell=True, cwd=self.build_dir, capture_output=True, text=True, check=False)
        if linked.returncode != 0:
            return None, linked.stdout + linked.stderr
        return program, ""

    def first_failure(self, program: pathlib.Path, expect: str) -> str:
        """The first test that fails with `program` in place of the real one ("" if none)."""
        ordered = sorted(self.tests, key=lambda t: not _matches(t.name, expect))
        for test in ordered:
            command = [str(program) if arg == str(self.program) else arg for arg in test.command]
            name = test.name.split("  #", 1)[0]  # ctest adds "  # GetParam() = ..." to parameterized tests
            try:
                run = subprocess.run(command, cwd=test.directory, capture_output=True, timeout=test.timeout,
                                     check=False)
            except subprocess.TimeoutExpired:
                return f"{name} (timeout)"
            if run.returncode != 0:
                failed = _FAILED_TEST.search(run.stdout.decode(errors="replace"))
                # A run of a whole program (09's, under mpiexec) names the test inside that failed.
                return f"{name}: {failed.group(1)}" if failed and failed.group(1) not in name else name
        return ""


_FAILED_TEST = re.compile(r"\[  FAILED  \] (?:\033\[[0-9;]*m)?([\w/.]+)")


def _matches(test_name: str, expect: str) -> bool:
    """Whether `expect` names this test: in full, or from a '.' or '/' in its name on."""
    if not expect:
        return False
    return test_name == expect or any(test_name.endswith(sep + expect) or (sep + expect + "/") in test_name
                                      for sep in "./")


def _replace_arg_after(args: list[str], flag: str, value: str) -> list[str]:
    if flag not in args:
        raise MutantError(f"the compile command has no {flag}")
    i = args.index(flag)
    return args[: i + 1] + [value] + args[i + 2 :]


# ---- The suite --------------------------------------------------------------------


def run_exercise(exercise: Exercise, mutants: list[Mutant], scratch: pathlib.Path,
                 make_build=ExerciseBuild) -> list[Outcome]:
    """Builds the mutants two at a time (the compiler is the slow part), and tests each, in order,
    as soon as its program is linked."""
    try:
        exercise_build = make_build(exercise, scratch)
    except MutantError as error:
        return [Outcome(m, "broken", detail=str(error)) for m in mutants]
    outcomes = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=BUILD_JOBS) as builds:
        pending = [builds.submit(_build_one, exercise, exercise_build, m) for m in mutants]
        try:
            for mutant, future in zip(mutants, pending):
                outcome, program = future.result()
                if program is not None:
                    start = time.monotonic()
                    caught_by = exercise_build.first_failure(program, mutant.expect)
                    outcome.status, outcome.caught_by = ("caught", caught_by) if caught_by else ("survived", "")
                    outcome.seconds += time.monotonic() - start
                outcomes.append(outcome)
                _print_progress(outcome)
        finally:
            for future in pending:
                future.cancel()
    return outcomes


def _build_one(exercise: Exercise, exercise_build, mutant: Mutant) -> tuple[Outcome, pathlib.Path | None]:
    """The mutant's test program, or a broken Outcome saying why there is none."""
    start = time.monotonic()
    outcome = Outcome(mutant, "broken")
    program = None
    try:
        source = exercise.root / "solutions" / exercise.name / mutant.file
        if not source.is_file():
            raise MutantError(f"mutant {exercise.name}/{mutant.name} no longer applies: "
                              f"solutions/{exercise.name}/{mutant.file} does not exist")
        program, errors = exercise_build.build_mutant(mutant, mutant.apply(source.read_text(encoding="utf-8")))
        if program is None:
            outcome.detail = f"mutant {exercise.name}/{mutant.name} does not compile:\n" + _first_error(errors)
    except MutantError as error:
        outcome.detail = str(error)
    outcome.seconds = time.monotonic() - start
    return outcome, program


def _first_error(output: str) -> str:
    return build.BuildResult(False, output).first_error(8)


def _print_progress(outcome: Outcome) -> None:
    mark = {"caught": term.ok("caught  "), "survived": term.bad("SURVIVED"), "broken": term.bad("BROKEN  ")}
    line = f"  {mark[outcome.status]} {outcome.mutant.exercise}/{outcome.mutant.name}"
    line += term.dim(f"  {outcome.seconds:.1f} s")
    print(line, flush=True)
    if outcome.status == "survived":
        print(f"    passes every test: {outcome.mutant.description}")
    elif outcome.detail:
        print("    " + outcome.detail.replace("\n", "\n    "))


def verify_mutants(exercises: list[Exercise]) -> int:
    """Builds the solutions' tests, then runs every mutant of `exercises`; 0 if every one was caught."""
    try:
        suites = [(e, load(e)) for e in exercises]
    except (MutantError, OSError) as error:
        print(term.bad(str(error)))
        return 1
    suites = [(e, m) for e, m in suites if m]
    if not suites:
        print(f"no mutants under {MUTANTS_DIR}/ for these exercises")
        return 1
    print(term.bold("Building the reference solutions' tests (each mutant reuses this build)"), flush=True)
    started = time.monotonic()
    root = exercises[0].root
    configured = build.configure(PRESET, root=root)
    built = build.build(PRESET, [e.test_target for e, _ in suites], root=root) if configured.ok else configured
    if not built.ok:
        print(built.first_error())
        return 1
    print(term.bold("Mutants (each must fail at least one test)"), flush=True)
    outcomes: list[Outcome] = []
    with tempfile.TemporaryDirectory(prefix="kata-mutants-") as tmp:
        for exercise, mutants in suites:
            scratch = pathlib.Path(tmp) / exercise.name
            scratch.mkdir()
            outcomes += run_exercise(exercise, mutants, scratch)
    print()
    print(report(outcomes))
    caught = sum(o.status == "caught" for o in outcomes)
    print()
    print(f"mutants: {caught}/{len(outcomes)} caught ({100 * caught / len(outcomes):.0f}% kill rate), "
          f"{sum(o.status == 'survived' for o in outcomes)} survived, "
          f"{sum(o.status == 'broken' for o in outcomes)} broken; {time.monotonic() - started:.0f} s in all")
    return 0 if caught == len(outcomes) else 1


def report(outcomes: list[Outcome]) -> str:
    rows = []
    for o in outcomes:
        if o.status == "caught":
            caught_by = o.caught_by.split("/", 1)[-1]
        elif o.status == "survived":
            caught_by = term.bad("SURVIVED: no test fails")
        else:
            caught_by = term.bad("BROKEN: " + o.detail.splitlines()[0] if o.detail else "BROKEN")
        rows.append([o.mutant.exercise, o.mutant.name, caught_by, f"{o.seconds:.1f} s"])
    return term.table(rows, ["exercise", "mutant", "caught by", "time"])
