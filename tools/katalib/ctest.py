"""Running ctest and reading what it says, test by test.

ctest's console lines tell how each test ended (passed, failed, timeout, crashed);
its JUnit file holds each test's output. We read both.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re
import subprocess
import tempfile
import xml.etree.ElementTree as ElementTree

_RESULT_LINE = re.compile(
    r"^\s*\d+/\d+ Test\s+#(?P<number>\d+): (?P<name>.+?) \.+\s*"
    r"(?P<status>Passed|\*\*\*Failed|\*\*\*Timeout|(?:[A-Za-z][A-Za-z ]*)?\*\*\*Exception:(?: \S+)?"
    r"|\*\*\*Not Run|Not Run|\*\*\*Skipped)"
    r".*?(?P<seconds>[\d.]+) sec\s*$"
)


@dataclasses.dataclass
class TestResult:
    name: str  # "01_cpu_count/CpuCountTest.OnlineCpusIsWhatSysconfSays"
    status: str  # passed | failed | timeout | crashed | not run | skipped (GTEST_SKIP)
    seconds: float = 0.0
    number: int = 0  # ctest's test number: the order of the test file
    detail: str = ""  # e.g. "SegFault" for a crash
    output: str = ""

    @property
    def exercise(self) -> str:
        return self.name.split("/", 1)[0]

    @property
    def short_name(self) -> str:
        return self.name.split("/", 1)[-1]

    @property
    def passed(self) -> bool:
        return self.status == "passed"

    @property
    def skipped(self) -> bool:
        """The test skipped itself (GTEST_SKIP: "needs 3 ranks"): it does not apply here."""
        return self.status == "skipped"


def parse_console(text: str) -> dict[str, TestResult]:
    results = {}
    for line in text.splitlines():
        match = _RESULT_LINE.match(line)
        if not match:
            continue
        raw = match.group("status").lstrip("*")
        if raw == "Passed":
            status, detail = "passed", ""
        elif raw == "Timeout":
            status, detail = "timeout", "hit ctest's deadline"
        elif "Exception:" in raw:  # "***Exception: SegFault", or "Subprocess aborted***Exception:"
            before, _, after = raw.partition("Exception:")
            status, detail = "crashed", after.strip() or before.strip("* ")
        elif raw in ("Not Run", "Skipped"):
            status, detail = "not run", raw
        else:
            status, detail = "failed", ""
        name = match.group("name")
        results[name] = TestResult(name, status, float(match.group("seconds")), int(match.group("number")), detail)
    return results


def parse_junit_outputs(xml_text: str) -> dict[str, str]:
    outputs = {}
    for case in ElementTree.fromstring(xml_text).iter("testcase"):
        out = case.find("system-out")
        outputs[case.get("name", "")] = out.text or "" if out is not None else ""
    return outputs


def run(build_dir: pathlib.Path, label: str | None = None, jobs: int = 2,
        extra: list[str] | None = None) -> tuple[list[TestResult], str]:
    """Runs the tests (those labelled `label`, or all); returns the results and ctest's text."""
    with tempfile.TemporaryDirectory(prefix="kata-ctest-") as tmp:
        junit = pathlib.Path(tmp) / "junit.xml"
        command = ["ctest", "--test-dir", str(build_dir), "-j", str(jobs), "--output-junit", str(junit)]
        if label:
            command += ["-L", f"^{re.escape(label)}$"]
        command += extra or []
        completed = subprocess.run(command, capture_output=True, text=True, errors="replace", check=False)
        console = completed.stdout + completed.stderr
        results = parse_console(console)
        if junit.exists():
            for name, output in parse_junit_outputs(junit.read_text(errors="replace")).items():
                if name in results:
                    results[name].output = output
    return sorted(results.values(), key=lambda r: r.number), console


def failure_excerpt(output: str, max_lines: int = 25) -> str:
    """What failed, in a gtest run (between [ RUN ] and [ FAILED ]), the test's own sentence first.

    Each of gtest's failures ("file:line: Failure", then its "Expected equality ...",
    "Which is: ...", then the message the test streamed) is turned round: the test's
    sentence leads, gtest's values follow. A test that gave no sentence but compared a
    child's outcome (`outcome.describe()`) leads with that outcome, unquoted.
    """
    lines = output.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("[ RUN")), -1)
    end = next((i for i, l in enumerate(lines) if l.startswith("[  FAILED  ]") and i > start), len(lines))
    body = [l for l in lines[start + 1 : end] if l.strip()]
    blocks: list[list[str]] = [[]]
    for line in body:
        if _FAILURE_HEADER.search(line) and blocks[-1]:
            blocks.append([])
        blocks[-1].append(line)
    ordered = [line for block in blocks for line in _sentence_first(block)]
    if len(ordered) > max_lines:
        ordered = ordered[:max_lines] + [f"... ({len(ordered) - max_lines} more lines)"]
    return "\n".join(ordered)


_FAILURE_HEADER = re.compile(r"(:\d+|^unknown file): Failure$")
# gtest's own lines in a failure; anything else not indented is the test's message.
_GTEST_LINE = re.compile(r"^(\s|Expected|Value of:|Actual:|Which is:|Failed$|The difference between|"
                         r"Death test|Result:|Error msg:|With diff:|Google Test trace:|Mock function)")
_WHICH_IS_STRING = re.compile(r'^\s*Which is: "(.*)"\s*$')


def _sentence_first(block: list[str]) -> list[str]:
    if not block or not _FAILURE_HEADER.search(block[0]):
        return block
    details = block[1:]
    sentence = [l for l in details if not _GTEST_LINE.match(l)]
    if not sentence:
        # No sentence streamed: a compared outcome ("Which is: \"killed by SIGSEGV\"") says it.
        which = next((m.group(1) for m in map(_WHICH_IS_STRING.match, details) if m), None)
        sentence = [_unescape(which)] if which else []
    return [*sentence, block[0], *[l for l in details if l not in sentence]]


def _unescape(text: str) -> str:
    """A C string literal as gtest prints it, read back: \\" \\\\ \\n \\t."""
    return re.sub(r'\\(["\\nt])', lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), text)
