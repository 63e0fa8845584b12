"""Terminal output: colour when it is a terminal, plain text otherwise."""
from __future__ import annotations

import os
import sys


def _use_colour() -> bool:
    return sys.stdout.isatty() and "NO_COLOR" not in os.environ and os.environ.get("TERM") != "dumb"


_CODES = {"red": "31", "green": "32", "yellow": "33", "blue": "34", "bold": "1", "dim": "2"}


def paint(text: str, style: str) -> str:
    if not _use_colour():
        return text
    return f"\033[{_CODES[style]}m{text}\033[0m"


def ok(text: str) -> str:
    return paint(text, "green")


def bad(text: str) -> str:
    return paint(text, "red")


def warn(text: str) -> str:
    return paint(text, "yellow")


def bold(text: str) -> str:
    return paint(text, "bold")


def dim(text: str) -> str:
    return paint(text, "dim")


def progress_bar(done: int, total: int, width: int = 30) -> str:
    filled = round(width * done / total) if total else 0
    return "[" + "#" * filled + "-" * (width - filled) + f"] {done}/{total}"


def table(rows: list[list[str]], header: list[str]) -> str:
    """A plain text table; cells may hold colour codes (they are not counted)."""
    import re

    visible = lambda s: len(re.sub(r"\033\[[0-9;]*m", "", s))  # noqa: E731
    widths = [max(visible(r[i]) for r in [header, *rows]) for i in range(len(header))]
    lines = []
    for row in [header, *rows]:
        cells = [cell + " " * (w - visible(cell)) for cell, w in zip(row, widths)]
        lines.append("  ".join(cells).rstrip())
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


class StatusLine:
    """One line that updates in place on a terminal ("building 3/9"); elsewhere (a pipe,
    a log) a new line only when the phase or its count changes, never one per step."""

    def __init__(self, stream=None, every: float = 15.0):
        self.stream = stream or sys.stdout
        self.live = self.stream.isatty() and os.environ.get("TERM") != "dumb"
        self.every = every  # off a terminal: a line at least this often while nothing else changes
        self.last = None
        self.last_time = 0.0
        self.shown = False

    def show(self, phase: str, done: int, total: int, detail: str = "") -> None:
        import time

        extra = f"  ({detail})" if detail else ""
        if self.live:
            self.stream.write(f"\r\033[K{phase} {done}/{total}{extra}")
            self.shown = True
        elif (phase, done) != self.last or time.monotonic() - self.last_time >= self.every:
            self.stream.write(dim(f"{phase} {done}/{total}{extra}") + "\n")
            self.last_time = time.monotonic()
        else:
            return
        self.last = (phase, done)
        self.stream.flush()

    def clear(self) -> None:
        if self.live and self.shown:
            self.stream.write("\r\033[K")
            self.stream.flush()
        self.shown = False
