"""Charts as SVG text, written by hand: a line chart and a horizontal bar chart.

No plotting library: the course must run on a bare Python 3. The files open in
any browser. Each point or bar carries a <title>, so hovering shows its figure;
class names ("point", "bar") let a test count what was drawn.
"""
from __future__ import annotations

import dataclasses
import math
from xml.sax.saxutils import escape

WIDTH, HEIGHT = 720, 440
COLOURS = ["#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf"]
STYLE_COLOURS = {"ideal": "#7f7f7f", "limit": "#7f7f7f", "cost": "#ff7f0e"}


@dataclasses.dataclass
class Series:
    label: str
    points: list[tuple[float, float, str]]  # x, y, the figure as a person reads it
    style: str = ""  # "ideal": dashed grey


@dataclasses.dataclass
class Bar:
    label: str
    value: float
    text: str  # the figure as a person reads it
    style: str = ""  # "limit", "cost": another colour


def _header(width: int, height: int, title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2:.0f}" y="22" text-anchor="middle" font-size="15" font-weight="bold">{escape(title)}</text>',
    ]


def nice_ticks(low: float, high: float, log: bool) -> list[float]:
    """Tick values covering [low, high]: 1-2-5 steps per decade on a log axis, round steps otherwise."""
    if log:
        ticks = []
        decades = range(math.floor(math.log10(low)), math.ceil(math.log10(high)) + 1)
        mantissas = (1, 2, 5) if len(decades) <= 4 else (1,)  # wide ranges: powers of ten only
        for exponent in decades:
            ticks += [m * 10.0 ** exponent for m in mantissas]
        inside = [t for t in ticks if low / 1.0001 <= t <= high * 1.0001]
        return inside if len(inside) >= 2 else ticks
    step = 10 ** math.floor(math.log10((high - low) or 1))
    for multiple in (1, 2, 5, 10):
        if (high - low) / (step * multiple) <= 6:
            step *= multiple
            break
    start = math.floor(low / step) * step
    return [start + i * step for i in range(int((high - start) / step) + 2)]


class _Axis:
    """Maps data values onto pixels, linearly or logarithmically."""

    def __init__(self, low: float, high: float, start: float, end: float, log: bool):
        self.log = log
        f = math.log10 if log else (lambda v: v)
        self.low, self.high = f(low), f(high)
        if self.high == self.low:
            self.high = self.low + 1
        self.start, self.end, self.f = start, end, f

    def __call__(self, value: float) -> float:
        return self.start + (self.f(value) - self.low) / (self.high - self.low) * (self.end - self.start)


def tick_text(value: float) -> str:
    if value >= 1e4 or value < 1e-2:
        return f"{value:.0e}".replace("e+0", "e").replace("e-0", "e-")
    return f"{value:g}"


def line_chart(title: str, x_label: str, y_label: str, series: list[Series],
               log_x: bool = True, log_y: bool = True) -> str:
    """Lines through each series' points, an axis per dimension, a legend top left."""
    xs = [x for s in series for x, _, _ in s.points]
    ys = [y for s in series for _, y, _ in s.points]
    left, right, top, bottom = 70, WIDTH - 20, 40, HEIGHT - 55
    if not xs:
        return "\n".join(_header(WIDTH, HEIGHT, title) + ['<text x="360" y="220" text-anchor="middle">no figures</text>', "</svg>"])
    x_ticks = sorted(set(xs)) if log_x else nice_ticks(min(xs), max(xs), False)
    y_low, y_high = (min(ys) / 1.25, max(ys) * 1.25) if log_y else (0, max(ys) * 1.1)
    y_ticks = [t for t in nice_ticks(y_low, y_high, log_y) if y_low <= t <= y_high]
    x_axis = _Axis(min(x_ticks) / 1.15, max(x_ticks) * 1.15, left, right, log_x)
    y_axis = _Axis(y_low, y_high, bottom, top, log_y)
    out = _header(WIDTH, HEIGHT, title)
    for tick in y_ticks:
        y = y_axis(tick)
        out.append(f'<line x1="{left}" y1="{y:.1f}" x2="{right}" y2="{y:.1f}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{tick_text(tick)}</text>')
    for tick in x_ticks:
        x = x_axis(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top}" x2="{x:.1f}" y2="{bottom}" stroke="#f0f0f0"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{tick_text(tick)}</text>')
    out.append(f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" fill="none" stroke="#444"/>')
    out.append(f'<text x="{(left + right) / 2:.0f}" y="{HEIGHT - 18}" text-anchor="middle">{escape(x_label)}</text>')
    out.append(f'<text transform="translate(18 {(top + bottom) / 2:.0f}) rotate(-90)" text-anchor="middle">{escape(y_label)}</text>')
    colours = iter(COLOURS)
    for index, s in enumerate(series):
        colour = STYLE_COLOURS.get(s.style) or next(colours)
        dash = ' stroke-dasharray="6 4"' if s.style == "ideal" else ""
        points = sorted(s.points)
        if len(points) > 1:
            path = " ".join(f"{x_axis(x):.1f},{y_axis(y):.1f}" for x, y, _ in points)
            out.append(f'<polyline class="line" points="{path}" fill="none" stroke="{colour}" stroke-width="2"{dash}/>')
        for x, y, text in points:
            out.append(f'<circle class="point" cx="{x_axis(x):.1f}" cy="{y_axis(y):.1f}" r="4" fill="{colour}">'
                       f"<title>{escape(s.label)}, {tick_text(x)}: {escape(text)}</title></circle>")
        legend_y = top + 16 + 18 * index
        out.append(f'<line x1="{left + 12}" y1="{legend_y - 4}" x2="{left + 36}" y2="{legend_y - 4}" '
                   f'stroke="{colour}" stroke-width="2"{dash}/>')
        out.append(f'<text x="{left + 42}" y="{legend_y}">{escape(s.label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(title: str, x_label: str, bars: list[Bar], log: bool = False, tick_format=None) -> str:
    """One horizontal bar per figure, labelled on the left, its figure at its end."""
    label_width, bar_height, gap = 260, 24, 10
    top = 44
    height = top + len(bars) * (bar_height + gap) + 60
    left, right = label_width, WIDTH - 110
    out = _header(WIDTH, height, title)
    values = [b.value for b in bars if b.value > 0]
    if not values:
        return "\n".join(out + [f'<text x="{WIDTH / 2:.0f}" y="{height / 2:.0f}" text-anchor="middle">no figures</text>', "</svg>"])
    if log:  # whole decades, so that the shortest bar still has a length
        low, high = 10.0 ** math.floor(math.log10(min(values)) - 0.3), 10.0 ** math.ceil(math.log10(max(values)))
        ticks = nice_ticks(low, high, True)
        axis = _Axis(low, high, left, right, log)
    else:
        ticks = nice_ticks(0, max(values) * 1.05, False)
        axis = _Axis(min(ticks), max(ticks), left, right, log)
    bottom = top + len(bars) * (bar_height + gap)
    for tick in ticks:
        x = axis(tick)
        out.append(f'<line x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" stroke="#e0e0e0"/>')
        out.append(f'<text x="{x:.1f}" y="{bottom + 16}" text-anchor="middle">{(tick_format or tick_text)(tick)}</text>')
    for index, bar in enumerate(bars):
        y = top + index * (bar_height + gap)
        colour = STYLE_COLOURS.get(bar.style, COLOURS[0])
        end = axis(bar.value) if bar.value > 0 else left
        out.append(f'<text x="{left - 8}" y="{y + bar_height * 0.7:.1f}" text-anchor="end">{escape(bar.label)}</text>')
        out.append(f'<rect class="bar" x="{left}" y="{y}" width="{max(end - left, 1):.1f}" height="{bar_height}" '
                   f'fill="{colour}"><title>{escape(bar.label)}: {escape(bar.text)}</title></rect>')
        out.append(f'<text x="{end + 6:.1f}" y="{y + bar_height * 0.7:.1f}">{escape(bar.text)}</text>')
    for bar in bars:
        if bar.style == "limit" and bar.value > 0:  # the limit across every bar, to compare by eye
            x = axis(bar.value)
            out.append(f'<line class="limit" x1="{x:.1f}" y1="{top - 4}" x2="{x:.1f}" y2="{bottom}" '
                       f'stroke="#444" stroke-dasharray="4 3"/>')
    out.append(f'<line x1="{left}" y1="{top - 4}" x2="{left}" y2="{bottom}" stroke="#444"/>')
    out.append(f'<text x="{(left + right) / 2:.0f}" y="{bottom + 38}" text-anchor="middle">{escape(x_label)}</text>')
    out.append("</svg>")
    return "\n".join(out)
