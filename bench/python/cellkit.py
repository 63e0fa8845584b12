"""What every notebook cell script shares: timing by medians, and one output format.

Each script prints one JSON object per line (JSON lines), one per figure:
  {"cell": "square", "name": "list_map", "seconds": 0.000139, "runs": 5, "items": 1000}
`seconds` is the median wall time of one run; `items`, where given, is what one
run processed (so a rate is items / seconds); `note` says what differs from the
notebook (fewer items, scaled). A figure that cannot be measured here is
  {"cell": "numpy", "name": "np_square", "skipped": "NumPy is not installed ..."}
`kata bench` reads these lines; a person can read them too.
"""
import argparse
import json
import statistics
import sys
import time


def parser(description: str, runs: int) -> argparse.ArgumentParser:
    """The options every cell takes: how many runs to take the median of."""
    result = argparse.ArgumentParser(description=description)
    result.add_argument("--runs", type=int, default=runs, help=f"repetitions, median reported (default {runs})")
    return result


def median_seconds(run, runs: int, loops: int = 1) -> float:
    """The median over `runs` of the time of one call of `run`, each timed over `loops` calls.

    Loops make a microsecond figure measurable; the median ignores the run a
    neighbour's burst of work spoiled.
    """
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        for _ in range(loops):
            run()
        times.append((time.perf_counter() - start) / loops)
    return statistics.median(times)


def loops_for(run, budget: float = 0.05) -> int:
    """How many calls of `run` fill about `budget` seconds: enough to time a fast call."""
    start = time.perf_counter()
    run()
    once = max(time.perf_counter() - start, 1e-7)
    return max(1, int(budget / once))


def emit(cell: str, name: str, seconds: float, runs: int, **extra) -> None:
    print(json.dumps({"cell": cell, "name": name, "seconds": seconds, "runs": runs, **extra}), flush=True)


def skip(cell: str, name: str, reason: str) -> None:
    print(json.dumps({"cell": cell, "name": name, "skipped": reason}), flush=True)
    print(f"skipped {cell}/{name}: {reason}", file=sys.stderr)
