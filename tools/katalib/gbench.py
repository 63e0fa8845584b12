"""Running a Google Benchmark binary and reading its JSON: one figure per benchmark.

With --benchmark_repetitions=N (N > 1) and --benchmark_report_aggregates_only the
JSON holds a mean, a median and a stddev per benchmark; we keep the median, the
figure a neighbour's burst of work spoils least. With one repetition there is
no aggregate, and the single run is the figure.
"""
from __future__ import annotations

import dataclasses
import json
import os
import pathlib
import re
import signal
import subprocess

# Google Benchmark's time units, in seconds.
_UNIT_SECONDS = {"ns": 1e-9, "us": 1e-6, "ms": 1e-3, "s": 1.0}

# A launcher's exit status for "cannot run that here" (automake's and ctest's skip).
SKIPPED = 77

# Keys of a benchmark's JSON entry that are not user counters.
_STANDARD_KEYS = {
    "name", "family_index", "per_family_instance_index", "run_name", "run_type", "repetitions",
    "repetition_index", "threads", "aggregate_name", "aggregate_unit", "iterations", "real_time",
    "cpu_time", "time_unit", "label", "error_occurred", "error_message", "skipped",
}


@dataclasses.dataclass
class Figure:
    """One benchmark's result: its median wall time per iteration, and its counters."""
    name: str  # run_name, as --benchmark_list_tests prints it
    seconds: float
    counters: dict[str, float]
    repetitions: int = 1
    label: str = ""
    error: str = ""

    def value(self, key: str = "real_time") -> float:
        """real_time in seconds, or a counter as the benchmark reported it."""
        return self.seconds if key == "real_time" else self.counters[key]


def parse(json_text: str, suffix: str = "") -> dict[str, Figure]:
    """Figures by run name from --benchmark_format=json output (medians where repeated).

    `suffix` is appended to every name: the same binary run under 1 and 4 MPI ranks
    reports the same names, told apart as "BM_x/ranks:1" and "BM_x/ranks:4".
    """
    figures: dict[str, Figure] = {}
    document, _ = json.JSONDecoder().raw_decode(json_text.lstrip())  # text after it is ignored
    for entry in document.get("benchmarks", []):
        is_median = entry.get("run_type") == "aggregate" and entry.get("aggregate_name") == "median"
        is_single = entry.get("run_type", "iteration") == "iteration"
        name = entry.get("run_name", entry["name"]) + suffix
        if not (is_median or is_single) or (is_single and name in figures and figures[name].repetitions > 1):
            continue
        if entry.get("error_occurred"):
            figures[name] = Figure(name, float("nan"), {}, error=entry.get("error_message", "failed"))
            continue
        seconds = entry["real_time"] * _UNIT_SECONDS[entry.get("time_unit", "ns")]
        counters = {k: float(v) for k, v in entry.items() if k not in _STANDARD_KEYS and isinstance(v, (int, float))}
        figures[name] = Figure(name, seconds, counters, int(entry.get("repetitions", 1)) if is_median else 1,
                               entry.get("label", ""))
    return figures


def list_tests(binary: pathlib.Path) -> list[str]:
    completed = subprocess.run([str(binary), "--benchmark_list_tests"], capture_output=True, text=True, check=False)
    return completed.stdout.split()


def name_filter(names: list[str]) -> str:
    """A --benchmark_filter regex matching exactly these benchmarks."""
    return "^(" + "|".join(re.escape(n) for n in sorted(set(names))) + ")$"


@dataclasses.dataclass
class RunResult:
    figures: dict[str, Figure]
    error: str = ""  # why there are no (or too few) figures: a crash, a stub's exception
    raw: str = ""  # the JSON as printed, kept in build/bench/raw/ for a second look
    skipped: str = ""  # why a launcher could not run it here (it exited SKIPPED): not a failure


def run(command: list[str], names: list[str], repetitions: int, min_time: float, suffix: str = "",
        env: dict[str, str] | None = None, timeout: float = 600) -> RunResult:
    """Runs `command` (a benchmark binary, or a launcher script and its binary) on `names`."""
    flags = [f"--benchmark_filter={name_filter(names)}", "--benchmark_format=json",
             f"--benchmark_repetitions={repetitions}", "--benchmark_report_aggregates_only=true",
             f"--benchmark_min_time={min_time}"]
    try:
        completed = subprocess.run(command + flags, capture_output=True, text=True, errors="replace",
                                   env={**os.environ, **(env or {})}, timeout=timeout, check=False)
    except subprocess.TimeoutExpired:
        return RunResult({}, f"{command[0]} took more than {timeout:.0f} s")
    output = completed.stdout
    if completed.returncode == SKIPPED:
        return RunResult({}, skipped=(completed.stderr.strip().splitlines() or ["skipped"])[-1].strip())
    start = output.find("{")  # a launcher may print its own lines before the JSON
    try:
        figures = parse(output[start:], suffix) if start >= 0 else {}
    except json.JSONDecodeError:
        figures = {}
    if completed.returncode != 0 or not figures:
        last = (completed.stderr.strip().splitlines() or ["no output"])[-1].strip()
        how = (f"killed by {signal.Signals(-completed.returncode).name}" if completed.returncode < 0
               else f"exit status {completed.returncode}")
        return RunResult(figures, f"{pathlib.Path(command[-1]).name} stopped ({how}): {last}", output[max(start, 0):])
    return RunResult(figures, raw=output[start:])
