"""`kata bench`: each exercise's Google Benchmark beside the notebook's Python cells.

Which build is measured: the student's (build/, your own code) when that
exercise's tests all pass, since a stub has nothing to measure; otherwise the
reference solutions (build-solutions/), and the output says so. --student and
--reference force one. The tables go to the terminal (or, with --markdown, to
stdout as Markdown); build/bench/report.md and the SVG charts beside it are
written every time.
"""
from __future__ import annotations

import dataclasses
import datetime
import json
import math
import pathlib
import shutil
import subprocess
import sys

from . import build, cells, charts, course, gbench, machine, runner, term

PYTHON_DIR = pathlib.Path("bench") / "python"
REPORT_DIR = pathlib.Path("build") / "bench"


@dataclasses.dataclass
class Options:
    repetitions: int = 3
    min_time: float = 0.1
    preset: str = ""  # "", "student" or "solutions"
    markdown: bool = False
    replay: pathlib.Path | None = None  # a folder of recorded outputs: tables and charts without running
    readme: bool = False  # also rewrite README.md's measured section and docs/bench/*.svg


def choose_preset(exercise: course.Exercise, forced: str) -> tuple[str, str]:
    """The build to measure, and why (said beside the exercise's figures)."""
    if forced:
        return forced, "as asked (--reference)" if forced == "solutions" else "as asked (--student)"
    entry = runner.cached(exercise)
    if entry and entry["compiled"] and entry["total"] and entry["passed"] == entry["total"]:
        return "student", "its tests pass"
    return "solutions", f"yours does not pass its tests yet (./kata test {exercise.number})"


def measure_exercise(exercise: course.Exercise, catalogue: cells.Catalogue, tables: list[dict],
                     options: Options, figures: cells.Figures) -> str:
    """Builds and runs one exercise's benchmark into `figures`; returns which build was measured."""
    preset, why = choose_preset(exercise, options.preset)
    _progress(f"{exercise.name}: building {exercise.bench_target} ({preset} build) ...")
    configured = build.configure(preset, root=exercise.root)
    built = build.build(preset, [exercise.bench_target], root=exercise.root) if configured.ok else configured
    if not built.ok:
        figures.failures[exercise.name] = (f"{exercise.bench_target} does not build ({preset} build); "
                                           f"the compiler's first complaint:\n{built.first_error()}")
        return f"{preset} build: {exercise.bench_target} does not build"
    binary = build.build_dir(preset, exercise.root) / exercise.bench_target
    names = catalogue.benchmark_names(exercise.name, tables) or gbench.list_tests(binary)
    setup = catalogue.exercises.get(exercise.name, {})
    runs = _launches(exercise, setup, binary, names)
    merged: dict[str, gbench.Figure] = {}
    errors = []
    for command, wanted, env, suffix in runs:
        _progress(f"{exercise.name}: running {' '.join(pathlib.Path(c).name for c in command)} "
                  f"({len(wanted)} benchmarks x {options.repetitions}) ...")
        result = gbench.run(command, wanted, options.repetitions, options.min_time, suffix, env)
        if result.skipped:  # e.g. two hosts need root: their rows say why, the rest stands
            merged.update({n + suffix: gbench.Figure(n + suffix, math.nan, {}, error=result.skipped) for n in wanted})
            continue
        merged.update(result.figures)
        _keep_raw(exercise.root, raw_name(exercise.name, suffix), result.raw)
        if result.error:
            errors.append(result.error)
    figures.benchmarks[exercise.name] = merged
    if errors:
        figures.failures[exercise.name] = errors[0]
    where = "your code, build/" if preset == "student" else "the reference solutions, build-solutions/"
    return f"{where}: {why}"


def _launches(exercise: course.Exercise, setup: dict, binary: pathlib.Path, names: list[str]):
    """(command, benchmark names, environment, name suffix) for each run the exercise needs.

    Most exercises: one run of the binary. An MPI exercise: its launcher script once
    per rank count of its "sweep", each run's names suffixed with the rank count.
    """
    command = [str(binary)]
    if "launcher" in setup:
        command = [str(exercise.root / setup["launcher"]), str(binary)]
    sweep = setup.get("sweep")
    if not sweep:
        return [(command, names, {}, "")]
    launches = []
    for value in sweep["values"]:
        suffix = sweep["suffix"].format(value)
        wanted = [n[: -len(suffix)] for n in names if n.endswith(suffix)]
        if wanted:
            launches.append((command, wanted, {sweep["env"]: str(value)}, suffix))
    return launches


def run_python(scripts: list[str], figures: cells.Figures, root: pathlib.Path) -> None:
    for script in scripts:
        _progress(f"python: {script} ...")
        path = root / PYTHON_DIR / script
        try:
            completed = subprocess.run([sys.executable, str(path)], cwd=path.parent, capture_output=True,
                                       text=True, timeout=300, check=False)
        except subprocess.TimeoutExpired:
            figures.failures[script] = f"{script} took more than 300 s"
            continue
        figures.add_python_lines(completed.stdout)
        _keep_raw(root, f"python_{pathlib.Path(script).stem}.jsonl", completed.stdout)
        if completed.returncode != 0:
            figures.failures[script] = f"{script} failed: {(completed.stderr.strip().splitlines() or ['?'])[-1]}"


def raw_name(exercise: str, suffix: str) -> str:
    """The file a run's JSON is kept in: "09_mpi_map@ranks=4.json" for the suffix "/ranks:4".

    No ':' in a file name: Windows cannot check such a file out of git.
    """
    return exercise + (f"@{suffix[1:].replace(':', '=')}" if suffix else "") + ".json"


def load_recorded(folder: pathlib.Path) -> cells.Figures:
    """The figures of a run kept in `folder` (build/bench/raw/, or a test's recorded inputs)."""
    figures = cells.Figures()
    for path in sorted(folder.glob("[0-9][0-9]_*.json")):
        exercise, _, suffix = path.stem.partition("@")
        text = path.read_text(encoding="utf-8")
        if text.strip():
            suffix = f"/{suffix.replace('=', ':')}" if suffix else ""
            figures.benchmarks.setdefault(exercise, {}).update(gbench.parse(text, suffix))
    for path in sorted(folder.glob("python_*.jsonl")):
        figures.add_python_lines(path.read_text(encoding="utf-8"))
    return figures


def _keep_raw(root: pathlib.Path, name: str, text: str) -> None:
    """What a run printed, as printed: build/bench/raw/NAME (the tests' recorded inputs came from here)."""
    folder = root / REPORT_DIR / "raw"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / name).write_text(text, encoding="utf-8")


def _progress(text: str) -> None:
    print(term.dim(text), file=sys.stderr, flush=True)


def terminal_table(table: cells.Table) -> str:
    rows = [[r.label, r.kind, cells.format_value(table, r.value), _ratio_text(table, r), r.value.note]
            for r in table.rows]
    lines = [term.bold(table.title), term.dim(f"notebook: {table.notebook}"),
             term.table(rows, ["", "kind", "median", "vs Python", "note"])]
    if table.left_out:
        lines.append(term.dim("not shown: " + ", ".join(table.left_out) + " (./kata bench without a number shows every exercise)"))
    return "\n".join(lines)


def _ratio_text(table: cells.Table, row: cells.Row) -> str:
    """The ratio; where a table compares with several Python rows, the first row of each group names its own."""
    text = cells.format_ratio(row.ratio)
    rated = [r for r in table.rows if r.ratio is not None]
    if not text or len({r.versus for r in rated}) == 1:
        return text
    if row.label == row.versus:
        return f"{text} (the baseline below)"
    index = rated.index(row)
    return f"{text} (vs {row.versus})" if index == 0 or rated[index - 1].versus != row.versus else text


def markdown_table(table: cells.Table, heading: str = "##") -> str:
    versus = {r.versus for r in table.rows if r.ratio is not None}
    header = "vs Python" if len(versus) != 1 else f"vs {next(iter(versus))}"
    lines = [f"{heading} {table.title}", "", f"Notebook: {table.notebook}", "",
             f"| | kind | median | {header} | note |", "| --- | --- | ---: | ---: | --- |"]
    for r in table.rows:
        ratio = _ratio_text(table, r)
        lines.append(f"| {r.label} | {r.kind} | {cells.format_value(table, r.value)} | {ratio} | {r.value.note} |")
    if table.left_out:
        lines += ["", "Not shown: " + ", ".join(table.left_out) + "."]
    return "\n".join(lines)


README_BEGIN = "<!-- generated by ./kata bench --reference --readme: do not edit by hand -->"
README_END = "<!-- end of generated section -->"
CHART_DIR = pathlib.Path("docs") / "bench"


def report(tables: list[cells.Table], written: list[tuple[dict, pathlib.Path]], about: list[tuple[str, str]],
           builds: dict[str, str], command: str, chart_prefix: str = "", title: str = "The lesson in numbers",
           depth: int = 1) -> str:
    """build/bench/report.md: the machine, which build each exercise ran, the tables, the charts.

    `depth` is the level of its title: 1 for a file of its own, 3 inside the README.
    """
    sub = "#" * (depth + 1)
    lines = ["#" * depth + " " + title, "", f"`{command}`.",
             "Medians of repeated runs; \"vs Python\" is how many times faster than the Python row named.", ""]
    lines += [f"- {key}: {value}" for key, value in about]
    if len(set(builds.values())) == 1 and len(builds) > 1:
        lines.append(f"- every exercise: {next(iter(builds.values()))}")
    else:
        lines += [f"- {name}: {how}" for name, how in builds.items()]
    for table in tables:
        lines += ["", markdown_table(table, sub)]
    if written:
        lines += ["", f"{sub} Charts"]
        lines += ["", *(f"![{chart['title']}]({chart_prefix}{path.name})\n" for chart, path in written)]
    return "\n".join(lines) + "\n"


def update_readme(root: pathlib.Path, text: str, written: list[tuple[dict, pathlib.Path]]) -> pathlib.Path:
    """Puts `text` between README.md's markers and the charts in docs/bench/: a real run, not typed."""
    readme = root / "README.md"
    content = readme.read_text(encoding="utf-8")
    start, end = content.find(README_BEGIN), content.find(README_END)
    if start < 0 or end < start:
        raise SystemExit(f"README.md has no section between {README_BEGIN} and {README_END}")
    readme.write_text(content[: start + len(README_BEGIN)] + "\n" + text + content[end:], encoding="utf-8")
    (root / CHART_DIR).mkdir(parents=True, exist_ok=True)
    for _, path in written:
        shutil.copyfile(path, root / CHART_DIR / path.name)
    return readme


def run(exercise_specs: list[str], options: Options, root: pathlib.Path = course.ROOT) -> int:
    exercises = [course.find(spec, root) for spec in exercise_specs] if exercise_specs else course.exercises(root)
    names = [e.name for e in exercises]
    catalogue = cells.Catalogue.load(root)
    chosen = catalogue.cells_for(names)
    raw = root / REPORT_DIR / "raw"
    if options.replay:
        figures = load_recorded(options.replay)
        about = [tuple(pair) for pair in json.loads((options.replay / "machine.json").read_text(encoding="utf-8"))]
        builds = {name: f"recorded in {options.replay}" for name in names}
    else:
        if raw.exists():
            shutil.rmtree(raw)  # a replay must not mix two runs
        about = machine.describe() + [
            ("date", f"{datetime.datetime.now(datetime.timezone.utc):%Y-%m-%d %H:%M} UTC"),
            ("repetitions", f"{options.repetitions} of each benchmark, median shown; each Python cell's own runs")]
        _keep_raw(root, "machine.json", json.dumps(about))
        figures = cells.Figures()
        builds = {e.name: measure_exercise(e, catalogue, chosen, options, figures) for e in exercises}
        run_python(catalogue.scripts(chosen), figures, root)

    in_course = course.exercise_names(root)
    tables = [cells.build_table(cell, figures, names, in_course) for cell in chosen]
    command = " ".join(["./kata bench", *exercise_specs] + (["--reference"] if options.preset == "solutions" else [])
                       + ([f"--replay {options.replay}"] if options.replay else []))
    written = charts.write([c for c in catalogue.charts if charts.wanted(c, names)], figures, root / REPORT_DIR)
    text = report(tables, written, about, builds, command)
    report_path = root / REPORT_DIR / "report.md"
    report_path.write_text(text, encoding="utf-8")

    if options.readme:
        section = report(tables, written, about, builds, command + " --readme", f"{CHART_DIR.as_posix()}/",
                         "Measured", depth=3)
        update_readme(root, section, written)
    if options.markdown:
        print(text)
    else:
        for key, value in about:
            print(f"{term.bold(key + ':')} {value}")
        for name, how in builds.items():
            print(f"{term.bold(name + ':')} {how}")
        for table in tables:
            print("\n" + terminal_table(table))
        _print_uncharted(exercises, catalogue, figures)
        print(term.dim(f"\nReport and charts: {report_path.relative_to(root)}"
                       + "".join(f", {p.name}" for _, p in written)))
    for what, why in figures.failures.items():
        print(term.warn(f"{what}: {why}"), file=sys.stderr)
    return 0 if not any(name in figures.failures for name in names) else 1


def _print_uncharted(exercises, catalogue: cells.Catalogue, figures: cells.Figures) -> None:
    """An exercise no cell mentions still shows its figures, as they are."""
    for exercise in exercises:
        if catalogue.cells_for([exercise.name]) or exercise.name not in figures.benchmarks:
            continue
        rows = [[f.name, cells.format_seconds(f.seconds) if not f.error else f.error]
                for f in figures.benchmarks[exercise.name].values()]
        print("\n" + term.bold(f"{exercise.name} (no cell of the notebook in bench/cells.json)"))
        print(term.table(rows, ["benchmark", "median"]))
