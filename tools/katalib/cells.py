"""The notebook's cells beside the benchmarks: bench/cells.json read and turned into tables.

The mapping lives in data, not code, so an exercise's benchmark joins the report
by a line in bench/cells.json. This module only computes (figures in, rows and
ratios out); running things is bench.py's job, drawing is svg.py's.
"""
from __future__ import annotations

import dataclasses
import json
import math
import pathlib

from .course import ROOT
from .gbench import Figure

CELLS_FILE = pathlib.Path("bench") / "cells.json"


@dataclasses.dataclass(frozen=True)
class Source:
    """Where a figure comes from: ("python", "square/list_map") or ("02_pool_map", "BM_x/real_time")."""
    origin: str
    name: str

    @staticmethod
    def parse(text: str) -> Source:
        origin, _, name = text.partition(":")
        return Source(origin, name)

    @property
    def is_python(self) -> bool:
        return self.origin == "python"


@dataclasses.dataclass
class Figures:
    """Everything measured in one `kata bench` run."""
    python: dict[str, dict] = dataclasses.field(default_factory=dict)  # "cell/name" -> its JSON line
    benchmarks: dict[str, dict[str, Figure]] = dataclasses.field(default_factory=dict)  # exercise -> figures
    failures: dict[str, str] = dataclasses.field(default_factory=dict)  # exercise or script -> why nothing

    def failure(self, what: str, default: str) -> str:
        """Why `what` has no figures, on one line (a table cell), or `default`."""
        return self.failures[what].splitlines()[0] if what in self.failures else default

    def add_python_lines(self, text: str) -> None:
        for line in text.splitlines():
            if line.startswith("{"):
                record = json.loads(line)
                self.python[f"{record['cell']}/{record['name']}"] = record


@dataclasses.dataclass
class Value:
    """A row's figure, or why there is none."""
    number: float | None
    note: str = ""

    @property
    def ok(self) -> bool:
        return self.number is not None and math.isfinite(self.number)


def resolve(spec: dict, figures: Figures, metric: str = "time") -> Value:
    """The figure a row or chart point names: seconds (metric "time") or items per second ("rate")."""
    source = Source.parse(spec["source"])
    scale = float(spec.get("scale", 1.0))
    note = spec.get("note", "")
    if source.is_python:
        record = figures.python.get(source.name)
        if record is None:
            return Value(None, "not measured")
        if "skipped" in record:
            return Value(None, record["skipped"])
        notes = [n for n in (note, record.get("note", ""), _answer(record)) if n]
        if metric == "rate":
            return Value(record["items"] / record["seconds"] * scale, "; ".join(notes))
        return Value(record["seconds"] * scale, "; ".join(notes))
    run = figures.benchmarks.get(source.origin)
    if run is None:
        return Value(None, figures.failure(source.origin, "not run"))
    figure = run.get(source.name)
    if figure is None:  # the run stopped before it, or the name is not the binary's
        return Value(None, figures.failure(source.origin, f"no benchmark {source.name} in {source.origin}_bench"))
    if figure.error:
        return Value(None, figure.error)
    key = spec.get("value", "items_per_second" if metric == "rate" else "real_time")
    if key not in ("real_time", *figure.counters):
        return Value(None, f"{source.name} reports no {key}")
    return Value(figure.value(key) * scale, note)


def _answer(record: dict) -> str:
    return f"says {record['answer']}" if "answer" in record else ""


@dataclasses.dataclass
class Row:
    label: str
    kind: str
    value: Value
    ratio: float | None  # how many times faster than the Python figure it is compared with
    versus: str  # the label of that Python row


@dataclasses.dataclass
class Table:
    id: str
    title: str
    notebook: str
    metric: str
    unit: str
    rows: list[Row]
    left_out: list[str]  # exercises whose rows are left out (not in this course, or not asked for)


@dataclasses.dataclass
class Catalogue:
    """bench/cells.json."""
    cells: list[dict]
    charts: list[dict]
    exercises: dict[str, dict]

    @staticmethod
    def load(root: pathlib.Path = ROOT) -> Catalogue:
        data = json.loads((root / CELLS_FILE).read_text(encoding="utf-8"))
        return Catalogue(data["cells"], data.get("charts", []), data.get("exercises", {}))

    def cells_for(self, exercises: list[str]) -> list[dict]:
        """The cells with a row from one of these exercises."""
        return [c for c in self.cells if any(Source.parse(r["source"]).origin in exercises for r in c["rows"])]

    def scripts(self, cells: list[dict]) -> list[str]:
        return list(dict.fromkeys(script for cell in cells for script in cell.get("python", [])))

    def benchmark_names(self, exercise: str, cells: list[dict]) -> list[str]:
        """Every benchmark of `exercise` a table or a chart needs: what its run filters on."""
        names = [s["source"] for c in cells for s in c["rows"]]
        names += [c["reference"]["source"] for c in self.charts if "reference" in c]
        for chart in self.charts:
            for item in chart.get("series", []) + chart.get("bars", []):
                names += [item["source"].replace("{x}", str(x)) for x in item.get("xs", [None])]
        sources = [Source.parse(n) for n in names]
        return sorted({s.name for s in sources if s.origin == exercise})


def build_table(cell: dict, figures: Figures, exercises: list[str], in_course: list[str] | None = None) -> Table:
    """One notebook cell's table: each row's figure and its ratio to the Python figure.

    Rows of `exercises` and Python rows are shown; `left_out` names the exercises of
    the course (`in_course`, default: all) whose rows were not asked for.
    """
    metric = cell.get("metric", "time")
    wanted = [r for r in cell["rows"] if _wanted(r["source"], exercises)]
    origins = {Source.parse(r["source"]).origin for r in cell["rows"]} - {"python"} - set(exercises)
    left_out = sorted(origins & set(in_course) if in_course is not None else origins)
    # A row is named by its source and, where a benchmark gives two rows, the counter it shows.
    labels = {(r["source"], r.get("value")): r["label"] for r in cell["rows"]}
    baseline = next((b for b in cell["baseline"] if resolve({"source": b}, figures, metric).ok), None)
    rows = []
    for spec in wanted:
        value = resolve(spec, figures, metric)
        versus = spec.get("vs", baseline)
        against = {"source": versus, **({"value": spec["vs_value"]} if "vs_value" in spec else {})}
        base = resolve(against, figures, metric) if versus else Value(None)
        ratio = None
        if value.ok and base.ok and value.number > 0:
            ratio = base.number / value.number if metric == "time" else value.number / base.number
        rows.append(Row(spec["label"], spec["kind"], value, ratio,
                        labels.get((versus, spec.get("vs_value")), versus or "")))
    return Table(cell["id"], cell["title"], cell.get("notebook", ""), metric, cell.get("unit", "items/s"),
                 rows, left_out)


def _wanted(source: str, exercises: list[str]) -> bool:
    origin = Source.parse(source).origin
    return origin == "python" or origin in exercises


def format_seconds(seconds: float) -> str:
    """Three significant figures in the unit that suits: 139 µs, 1.35 s."""
    seconds = float(f"{seconds:.3g}")  # so that 999.96 ns reads 1 µs, not 1e+03 ns
    for unit, size in (("s", 1.0), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if abs(seconds) >= size or unit == "ns":
            return f"{_three_figures(seconds / size)} {unit}"
    return f"{seconds} s"


def format_rate(rate: float, unit: str) -> str:
    rate = float(f"{rate:.3g}")
    for prefix, size in (("G", 1e9), ("M", 1e6), ("k", 1e3), ("", 1.0)):
        if abs(rate) >= size or prefix == "":
            return f"{_three_figures(rate / size)} {prefix}{unit}"
    return f"{rate} {unit}"


def _three_figures(x: float) -> str:
    return f"{x:.3g}" if abs(x) < 1000 else f"{x:.0f}"


def format_ratio(ratio: float | None) -> str:
    """"12x faster", "3.1x slower": always a number above one, with the direction in words."""
    if ratio is None:
        return ""
    if 0.995 <= ratio <= 1.005:
        return "1x"
    faster = ratio > 1
    factor = ratio if faster else 1 / ratio
    return f"{_three_figures(factor)}x {'faster' if faster else 'slower'}"


def format_value(table: Table, value: Value) -> str:
    if not value.ok:
        return "-"
    return format_seconds(value.number) if table.metric == "time" else format_rate(value.number, table.unit)
