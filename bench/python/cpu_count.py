"""The notebook's first cell: multiprocessing.cpu_count(), and what else Python can say.

cpu_count() counts the CPUs online; os.sched_getaffinity (Python >= 3.3) counts
those this process may run on, what a pool should use. The "seconds" is the cost
of one call, the figure bench/01_cpu_count_bench.cpp measures in C++.
"""
import multiprocessing
import os

import cellkit


def main() -> None:
    args = cellkit.parser(__doc__, runs=5).parse_args()
    calls = {
        "cpu_count": (multiprocessing.cpu_count, multiprocessing.cpu_count()),
        "sched_getaffinity": (lambda: os.sched_getaffinity(0), len(os.sched_getaffinity(0))),
    }
    for name, (call, answer) in calls.items():
        seconds = cellkit.median_seconds(call, args.runs, cellkit.loops_for(call))
        cellkit.emit("cpu_count", name, seconds, args.runs, answer=answer)


if __name__ == "__main__":
    main()
