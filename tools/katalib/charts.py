"""The charts of bench/cells.json, from figures to SVG files.

A "lines" chart plots speedup (the reference time over each point's time)
against workers: the sleepy workload with its ideal line. A "bars" chart puts
figures side by side: the IPC ladder, SIMD against memcpy.
"""
from __future__ import annotations

import pathlib

from . import svg
from .cells import Figures, Source, format_rate, format_seconds, resolve


def _origins(chart: dict) -> set[str]:
    items = chart.get("series", []) + chart.get("bars", []) + ([chart["reference"]] if "reference" in chart else [])
    return {Source.parse(item["source"]).origin for item in items}


def wanted(chart: dict, exercises: list[str]) -> bool:
    """A chart is drawn when one of these exercises feeds it."""
    return bool(_origins(chart) & set(exercises))


def draw(chart: dict, figures: Figures) -> tuple[str, int]:
    """The chart's SVG text and how many figures it shows."""
    if chart["type"] == "lines":
        series = speedup_series(chart, figures)
        text = svg.line_chart(chart["title"], chart["x_label"], chart["y_label"], series)
        return text, sum(len(s.points) for s in series)
    bars = chart_bars(chart, figures)
    if chart.get("metric", "time") == "time":
        ticks = format_seconds
    else:
        ticks = lambda rate: format_rate(rate, "B/s")  # noqa: E731
    return svg.bar_chart(chart["title"], chart["x_label"], bars, chart.get("log", False), ticks), len(bars)


def speedup_series(chart: dict, figures: Figures) -> list[svg.Series]:
    reference = resolve(chart["reference"], figures)
    if not reference.ok:
        return []
    result = []
    for spec in chart["series"]:
        points = []
        for x in spec["xs"]:
            value = resolve({**spec, "source": spec["source"].replace("{x}", str(x))}, figures)
            if value.ok and value.number > 0:
                speedup = reference.number / value.number
                points.append((float(x), speedup, f"{speedup:.3g}x ({format_seconds(value.number)})"))
        if points:
            result.append(svg.Series(spec["label"], points, spec.get("style", "")))
    return result


def chart_bars(chart: dict, figures: Figures) -> list[svg.Bar]:
    metric = chart.get("metric", "time")
    bars = []
    for spec in chart["bars"]:
        value = resolve(spec, figures, metric)
        if value.ok:
            text = format_seconds(value.number) if metric == "time" else format_rate(value.number, "B/s")
            bars.append(svg.Bar(spec["label"], value.number, text, spec.get("style", "")))
    return bars


def write(charts: list[dict], figures: Figures, folder: pathlib.Path) -> list[tuple[dict, pathlib.Path]]:
    """Writes each chart with figures to folder/ID.svg; returns those written."""
    folder.mkdir(parents=True, exist_ok=True)
    written = []
    for chart in charts:
        text, shown = draw(chart, figures)
        if shown:
            path = folder / f"{chart['id']}.svg"
            path.write_text(text + "\n", encoding="utf-8")
            written.append((chart, path))
    return written
