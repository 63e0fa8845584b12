"""`kata watch`'s full screen (the standard library's curses): the exercise, its progress,
every failure with its sentence and explanation; keys for a hint, the next exercise, the
list, a rerun; a rebuild on every save.

The screen only shows: each run is `kata test NN --all --json FILE` in a process group of
its own, so a save, `r` or `n` in the middle of a run can stop it cleanly.
"""
from __future__ import annotations

import curses
import json
import os
import pathlib
import signal
import subprocess
import sys
import tempfile
import textwrap
import time

from . import course, runner, state, watch

MIN_COLUMNS, MIN_LINES = 60, 16
KEYS = "h hint  n next  l list  r rerun  q quit"


def too_small(columns: int, lines: int) -> str | None:
    """The one line to show when the terminal cannot hold the screen, or None."""
    if columns >= MIN_COLUMNS and lines >= MIN_LINES:
        return None
    return (f"kata watch needs a terminal of at least {MIN_COLUMNS}x{MIN_LINES} (this one is "
            f"{columns}x{lines}): make it bigger, or use ./kata watch --plain")


class Job:
    """One run of `kata test NN --all --json FILE`, stoppable."""

    def __init__(self, exercise: course.Exercise):
        self.exercise = exercise
        self.folder = tempfile.TemporaryDirectory(prefix="kata-watch-")
        self.report = pathlib.Path(self.folder.name) / "run.json"
        command = [sys.executable, str(exercise.root / "kata"), "test", exercise.number, "--all",
                   "--json", str(self.report)]
        self.process = subprocess.Popen(command, cwd=exercise.root, stdin=subprocess.DEVNULL,
                                        stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                        env=dict(os.environ, NO_COLOR="1"), start_new_session=True)
        self.started = time.monotonic()

    def finished(self) -> dict | None:
        """The run's data once it has ended (a run that died says why), else None."""
        if self.process.poll() is None:
            return None
        try:
            data = json.loads(self.report.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            data = {"exercise": self.exercise.name, "compiled": False, "passed": 0, "total": 0, "done": False,
                    "failures": [], "first_error": f"kata test {self.exercise.number} ended with status "
                    f"{self.process.returncode} and no report: run it in a shell to see why."}
        self.folder.cleanup()
        return data

    def stop(self) -> None:
        if self.process.poll() is None:
            try:
                os.killpg(self.process.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait()
        self.folder.cleanup()


class Screen:
    def __init__(self, exercise: course.Exercise, use_inotify: bool | None):
        self.exercise = exercise
        self.use_inotify = use_inotify
        self.exercises = course.exercises(exercise.root)
        self.result: dict | None = None
        self.job: Job | None = None
        self.watcher: watch.Watcher | None = None
        self.message: list[str] = []  # a hint or a notice, under the failures
        self.view = "main"
        self.chosen = 0  # the list's highlighted row
        self.typed = ""  # digits typed in the list
        self.runs = 0

    # -- what happens -------------------------------------------------------------------
    def open(self, exercise: course.Exercise) -> None:
        self.exercise = exercise
        self.result = None
        self.message = []
        if self.watcher:
            self.watcher.stop()
        self.watcher = watch.Watcher(exercise.folder, self.use_inotify)
        self.rerun()

    def rerun(self) -> None:
        if self.job:
            self.job.stop()
        self.job = Job(self.exercise)
        self.runs += 1

    def next_exercise(self) -> course.Exercise | None:
        names = [e.name for e in self.exercises]
        index = names.index(self.exercise.name) if self.exercise.name in names else -1
        return self.exercises[index + 1] if index + 1 < len(self.exercises) else None

    def next_hint(self) -> None:
        hints = self.exercise.hints()
        if not hints:
            self.message = [f"{self.exercise.name} has no hints: read its README.md."]
            return
        seen = state.load("hints.json", self.exercise.root)
        index = seen.get(self.exercise.name, 0)
        if index >= len(hints):
            self.message = [f"No hints left: you have seen all {len(hints)}. "
                            f"./kata hint {self.exercise.number} --all shows them again."]
            return
        self.message = [f"Hint {index + 1} of {len(hints)}: {hints[index]}"]
        seen[self.exercise.name] = index + 1
        state.save("hints.json", seen, self.exercise.root)

    def close(self) -> None:
        if self.job:
            self.job.stop()
        if self.watcher:
            self.watcher.stop()

    def tick(self) -> bool:
        """Looks at the run and the files; True when the screen must be drawn again."""
        changed = False
        if self.job:
            data = self.job.finished()
            if data is not None:
                if data.get("done"):
                    self.message = []  # green: the hint shown for the failure is over
                self.result, self.job, changed = data, None, True
        if self.watcher and self.watcher.changed():
            time.sleep(0.2)  # editors write in several steps: let the burst settle
            self.watcher.changed()
            self.rerun()
            changed = True
        return changed

    def key(self, key: int) -> bool:
        """Handles a key; False to quit."""
        if self.view == "list":
            return self.list_key(key)
        if key in (ord("q"), ord("Q")):
            return False
        if key == ord("h"):
            self.next_hint()
        elif key == ord("r"):
            self.message = []
            self.rerun()
        elif key == ord("n"):
            following = self.next_exercise()
            if following:
                self.open(following)
            else:
                self.message = ["That was the last exercise."]
        elif key == ord("l"):
            self.view, self.typed = "list", ""
            names = [e.name for e in self.exercises]
            self.chosen = names.index(self.exercise.name) if self.exercise.name in names else 0
        return True

    def list_key(self, key: int) -> bool:
        if key in (ord("q"), ord("Q")):
            return False
        if key in (ord("l"), 27):  # l or Escape: back
            self.view = "main"
        elif key in (curses.KEY_UP, ord("k")):
            self.chosen = max(0, self.chosen - 1)
        elif key in (curses.KEY_DOWN, ord("j")):
            self.chosen = min(len(self.exercises) - 1, self.chosen + 1)
        elif key in (curses.KEY_ENTER, 10, 13):
            self.choose(self.exercises[self.chosen])
        elif ord("0") <= key <= ord("9"):
            # A number picks its exercise as soon as no longer number could still follow.
            self.typed += chr(key)
            exact = [e for e in self.exercises if int(e.number) == int(self.typed)]
            longer = [e for e in self.exercises
                      if e.number.lstrip("0").startswith(self.typed) and int(e.number) != int(self.typed)]
            if exact and not longer:
                self.choose(exact[0])
            elif not longer:
                self.typed = ""
        return True

    def choose(self, exercise: course.Exercise) -> None:
        self.view, self.typed = "main", ""
        if exercise.name != self.exercise.name:
            self.open(exercise)

    # -- what it shows ------------------------------------------------------------------
    def lines(self, width: int) -> list[tuple[str, str]]:
        """The main view's body, as (text, style) lines."""
        out: list[tuple[str, str]] = []
        wrap = lambda text, indent="": [  # noqa: E731
            (line, "") for line in textwrap.wrap(text, width - 1, initial_indent=indent,
                                                 subsequent_indent=indent) or [""]]
        data = self.result
        if data is None:
            return [(f"building and testing {self.exercise.name} ...", "dim")]
        if not data["compiled"]:
            out.append(("It does not compile yet. The compiler's first complaint:", "bad"))
            out += [(line[: width - 1], "") for line in data["first_error"].splitlines()]
            return out
        if data["done"]:
            out.append((f"{self.exercise.number} passes! All {data['total']} tests are green.", "good"))
            following = self.next_exercise()
            if following:
                out.append((f"Press n for the next exercise: {following.number} · {following.title}", "bold"))
            else:
                out.append(("That was the last exercise. Well done!", "bold"))
            out.append((f"The lesson in numbers: ./kata bench {self.exercise.number}", "dim"))
            return out
        explained = set()
        for number, failure in enumerate(data["failures"]):
            how = "" if failure["status"] == "failed" else f"  ({failure['status']}" + (
                f": {failure['detail']})" if failure["detail"] else ")")
            out.append((f"✗ {failure['name']}{how}"[: width - 1], "bad"))
            excerpt = failure["excerpt"].splitlines()
            out += [(text, "bold") for text, _ in wrap(excerpt[0] if excerpt else "", "    ")[:3]]
            if number == 0:  # gtest's values for the first failure only: the sentences matter most
                out += [(("    " + line)[: width - 1], "dim") for line in excerpt[1:6]]
            explanation = failure["explanation"]
            if explanation and explanation not in explained:
                explained.add(explanation)
                out += [(text, "warn") for text, _ in wrap("What it usually means: " + explanation, "    ")]
            out.append(("", ""))
        return out

    def draw(self, window) -> None:
        window.erase()
        lines, columns = window.getmaxyx()
        small = too_small(columns, lines)
        if small:
            self.put(window, 0, 0, small[: columns - 1], "bad")
            window.refresh()
            return
        if self.view == "list":
            self.draw_list(window, lines, columns)
        else:
            self.draw_main(window, lines, columns)
        folder = self.exercise.folder.relative_to(self.exercise.root)
        how = self.watcher.how if self.watcher else ""
        footer = f" {KEYS}   watching {folder}/ ({how})"
        self.put(window, lines - 1, 0, footer.ljust(columns - 1)[: columns - 1], "reverse")
        window.refresh()

    def draw_main(self, window, lines: int, columns: int) -> None:
        self.put(window, 0, 0, f" kata watch · {self.exercise.number} · {self.exercise.title}"[: columns - 1], "bold")
        data = self.result
        if data and data["compiled"] and data["total"]:
            bar_width = 30
            filled = round(bar_width * data["passed"] / data["total"])
            progress = f" [{'#' * filled}{'-' * (bar_width - filled)}] {data['passed']}/{data['total']} tests pass"
            style = "good" if data["done"] else "bad"
        elif data and not data["compiled"]:
            progress, style = " does not compile", "bad"
        else:
            progress, style = " ", ""
        self.put(window, 1, 0, progress[: columns - 1], style)
        if self.job:
            elapsed = int(time.monotonic() - self.job.started)
            self.put(window, 1, min(columns - 30, len(progress) + 2), f"running ... {elapsed} s"[:28], "warn")
        message = [line for text in self.message for line in textwrap.wrap(text, columns - 2)][: lines // 3]
        body_end = lines - 2 - (len(message) + 1 if message else 0)
        body = self.lines(columns)
        shown = body[: max(0, body_end - 4)] if len(body) > body_end - 3 else body
        for row, (text, style) in enumerate(shown, 3):
            self.put(window, row, 1, text[: columns - 2], style)
        if len(body) > len(shown) and data:
            more = sum(1 for text, style in body[len(shown):] if style == "bad" and text.startswith("✗"))
            self.put(window, body_end - 1, 1, f"... {more} more failing (./kata test {self.exercise.number} --all)"
                     [: columns - 2], "dim")
        for row, text in enumerate(message, body_end + 1):
            self.put(window, row, 1, text, "hint")

    def draw_list(self, window, lines: int, columns: int) -> None:
        self.put(window, 0, 0, " All exercises: arrows or a number to choose, Enter to open, l to go back"
                 [: columns - 1], "bold")
        for row, exercise in enumerate(self.exercises[: lines - 3], 2):
            entry = runner.cached(exercise)
            if entry is None:
                progress = ""
            elif not entry["compiled"]:
                progress = "does not compile"
            else:
                progress = f"{entry['passed']}/{entry['total']}" + (
                    "  done" if entry["total"] and entry["passed"] == entry["total"] else "")
            text = f" {exercise.number}  {exercise.title[: columns - 40]:<{max(10, columns - 40)}} {progress}"
            style = "reverse" if row - 2 == self.chosen else ("good" if "done" in progress else "")
            self.put(window, row, 1, text[: columns - 2], style)

    def put(self, window, row: int, column: int, text: str, style: str) -> None:
        try:
            window.addstr(row, column, text, STYLES.get(style, 0))
        except curses.error:
            pass  # the last cell of the screen, or a line cut by a resize


STYLES: dict[str, int] = {}


def _set_styles() -> None:
    STYLES.update({"bold": curses.A_BOLD, "dim": curses.A_DIM, "reverse": curses.A_REVERSE})
    colours = {"good": curses.COLOR_GREEN, "bad": curses.COLOR_RED, "warn": curses.COLOR_YELLOW,
               "hint": curses.COLOR_CYAN}
    try:
        curses.start_color()
        curses.use_default_colors()
        for number, (name, colour) in enumerate(colours.items(), 1):
            curses.init_pair(number, colour, -1)
            STYLES[name] = curses.color_pair(number)
    except curses.error:
        STYLES.update({name: curses.A_BOLD for name in colours})


def run(exercise: course.Exercise, use_inotify: bool | None = None) -> int:
    """The screen, until q (exit status 0) or Ctrl-C."""
    screen = Screen(exercise, use_inotify)

    def loop(window) -> int:
        _set_styles()
        try:
            curses.curs_set(0)
        except curses.error:
            pass
        window.timeout(100)
        window.keypad(True)
        screen.open(exercise)
        screen.draw(window)
        while True:
            key = window.getch()
            redraw = key == curses.KEY_RESIZE
            if key not in (-1, curses.KEY_RESIZE):
                if not screen.key(key):
                    return 0  # q: the student's own choice, not a failure
                redraw = True
            if screen.tick() or redraw or screen.job:
                screen.draw(window)

    try:
        return curses.wrapper(loop)
    finally:
        screen.close()
