"""What a failure usually means: the kind of failure, and the explanation that fits it.

The explanations are data, not code: each exercise may keep its own in
exercises/NN_name/explanations.json, and tools/katalib/explanations.json holds the
few that mean the same in every exercise. Both look like this:

    {"explanations": [
      {"kind": "timeout", "tests": "ShmQueueTest\\\\.", "text": "..."},
      {"kind": "signal SIGSEGV", "text": "..."}
    ]}

`kind` is one of KINDS ("signal" alone fits every signal); `tests`, a regular
expression searched in the test's name (Suite.Test), narrows an entry to some tests.
The rule that keeps an explanation from being wrong: when an exercise has entries of
a kind, only its own entries can explain that kind (none may fit: then there is
none); the course-wide entries speak only for kinds the exercise leaves out.
"""
from __future__ import annotations

import functools
import json
import pathlib
import re

from .course import ROOT
from .ctest import TestResult

KINDS = ("stub", "timeout", "signal", "zombie", "leaked fd", "wrong value")
COURSE_FILE = pathlib.Path(__file__).with_name("explanations.json")
FILE_NAME = "explanations.json"

# ctest's "***Exception: X" words, and the signals they stand for.
_CTEST_SIGNALS = {"SegFault": "SIGSEGV", "Illegal": "SIGILL", "Numerical": "SIGFPE",
                  "Interrupt": "SIGINT", "Bus": "SIGBUS"}
# A child's outcome as the tests print it (kata::testing::ChildOutcome::describe()):
# the actual value, never an expected one, which gtest shows in quotes on its own line.
_KILLED_BY = re.compile(r'^\s*(?:(?:Which is|Actual): "?)?killed by (SIG[A-Z0-9]+)', re.MULTILINE)
_TIMED_OUT = "timed out: killed at the deadline"


def kind_of(result: TestResult) -> str | None:
    """The kind of failure, or None for a test that passed or did not run."""
    if result.status in ("passed", "not run", "skipped"):
        return None
    text = result.output
    if "is not implemented yet" in text:
        return "stub"
    if result.status == "timeout" or _TIMED_OUT in text:
        return "timeout"
    if result.status == "crashed":
        signal = _CTEST_SIGNALS.get(result.detail.split(" ")[0])
        return f"signal {signal}" if signal else "signal"
    killed = _KILLED_BY.search(text)
    if killed:
        return f"signal {killed.group(1)}"
    if "leaked child processes" in text:
        return "zombie"
    if "leaked file descriptors" in text:
        return "leaked fd"
    return "wrong value"


@functools.lru_cache(maxsize=32)
def _load(path: pathlib.Path, _mtime: float) -> tuple[dict, ...]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ()
    entries = data.get("explanations", []) if isinstance(data, dict) else []
    return tuple(e for e in entries if isinstance(e, dict) and isinstance(e.get("text"), str)
                 and (e.get("kind") in KINDS or str(e.get("kind", "")).startswith("signal SIG")))


def entries(path: pathlib.Path) -> tuple[dict, ...]:
    try:
        return _load(path, path.stat().st_mtime)
    except OSError:
        return ()


def _fits(entry: dict, kind: str) -> bool:
    return entry["kind"] == kind or (entry["kind"] == "signal" and kind.startswith("signal"))


def _choose(candidates: tuple[dict, ...], kind: str, test: str) -> str | None:
    """The first entry for exactly this kind whose pattern matches, then a generic "signal"."""
    for exact in (True, False):
        for entry in candidates:
            if (entry["kind"] == kind) != exact or not _fits(entry, kind):
                continue
            pattern = entry.get("tests")
            try:
                if pattern and not re.search(pattern, test):
                    continue
            except re.error:
                continue
            return entry["text"]
    return None


def explain(result: TestResult, root: pathlib.Path = ROOT) -> str | None:
    """The explanation that fits this failure, or None: never one meant for another kind."""
    kind = kind_of(result)
    if kind is None:
        return None
    own = entries(root / "exercises" / result.exercise / FILE_NAME)
    if any(_fits(entry, kind) for entry in own):
        return _choose(own, kind, result.short_name)
    return _choose(entries(COURSE_FILE), kind, result.short_name)
