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
    status: str  # passed | failed | timeout | crashed | not run
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
    """The part of a gtest run that tells what failed: between [ RUN ] and [ FAILED ]."""
    lines = output.splitlines()
    start = next((i for i, l in enumerate(lines) if l.startswith("[ RUN")), 0)
    end = next((i for i, l in enumerate(lines) if l.startswith("[  FAILED  ]") and i > start), len(lines))
    body = [l for l in lines[start + 1 : end] if l.strip()]
    if len(body) > max_lines:
        body = body[:max_lines] + [f"... ({len(body) - max_lines} more lines)"]
    return "\n".join(body)
