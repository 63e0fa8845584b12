"""What a classic failure usually means, in a sentence, recognised from its message."""
from __future__ import annotations

from .ctest import TestResult

# (text to look for in the test's output, what it usually means)
_LESSONS = [
    ("is not implemented yet",
     "This is still the stub: write the function (README.md, section \"Your task\")."),
    ("leaked child processes",
     "A child was left behind: every fork() needs a waitpid() on every path, error paths included "
     "(kata::ChildProcess does it in its destructor). A zombie is a child that ended but was never reaped."),
    ("leaked file descriptors",
     "An fd stayed open: close every pipe end you do not use, in the parent and in each child, on "
     "every path (kata::UniqueFd closes in its destructor)."),
    ("timed out",
     "The deadline passed: usually a deadlock. Two processes both blocked writing into full pipes "
     "(write less before you read), or a reader waiting for an EOF that never comes because some "
     "process still holds the write end."),
    ("out of order",
     "Results came back in the wrong order: tag each chunk with where it belongs, and put results "
     "there rather than appending them as they arrive."),
]


def explain(result: TestResult) -> str | None:
    if result.status == "timeout":
        return dict(_LESSONS)["timed out"]
    if result.status == "crashed":
        return (f"The test binary crashed ({result.detail}). Run it alone under a debugger: "
                "gdb --args ./build/<exercise>_test --gtest_filter=" + result.short_name)
    text = result.output.lower()
    for needle, lesson in _LESSONS:
        if needle in text:
            return lesson
    return None
