"""The notebook's sleepy cell: the same map when each item sleeps 10 ms.

  list(map(square, data))                10.1 s   (1000 items)
  with Pool(8) as p: p.map(square, data)  1.35 s   (ideal 1000 / 8 * 10 ms = 1.25 s)

To keep the run short the sequential map runs --sequential-items (100) items and
its time is scaled to the notebook's 1000, which the "note" says; Pool(8) runs
--items (1000, the notebook's) items. "ideal" is ceil(items / 8) sleeps, each of
the length measured here (a sleep overshoots, more on a busy machine).
Compared with bench/04_sleepy_workload_bench.cpp.
"""
import math
import multiprocessing
import time

import cellkit

SLEEP = 0.01
WORKERS = 8


def square(x):
    time.sleep(SLEEP)
    return x * x


def measured_sleep(samples: int = 20) -> float:
    start = time.perf_counter()
    for _ in range(samples):
        time.sleep(SLEEP)
    return (time.perf_counter() - start) / samples


def main() -> None:
    options = cellkit.parser(__doc__, runs=3)
    options.add_argument("--items", type=int, default=1000, help="items for Pool(8) (default: the notebook's 1000)")
    options.add_argument("--sequential-items", type=int, default=100,
                         help="items actually run sequentially; the time is scaled to --items")
    args = options.parse_args()

    few = list(range(args.sequential_items))
    scale = args.items / args.sequential_items
    seconds = cellkit.median_seconds(lambda: list(map(square, few)), args.runs) * scale
    cellkit.emit("sleepy", "sequential", seconds, args.runs, items=args.items,
                 note=f"{args.sequential_items} items run, time x{scale:g}")

    data = list(range(args.items))
    with multiprocessing.Pool(WORKERS) as pool:
        pool.map(square, range(WORKERS))  # start the workers before timing
        seconds = cellkit.median_seconds(lambda: pool.map(square, data), args.runs)
    cellkit.emit("sleepy", "pool8", seconds, args.runs, items=args.items, workers=WORKERS)

    per_item = measured_sleep()
    cellkit.emit("sleepy", "ideal8", math.ceil(args.items / WORKERS) * per_item, 1, items=args.items,
                 workers=WORKERS, note=f"ceil(items / 8) x {per_item * 1e3:.2f} ms measured sleep")


if __name__ == "__main__":
    main()
