"""The notebook's square cells: list(map(square, data)) against Pool(8).map.

  data = range(1000)
  list(map(square, data))                      139 µs
  with Pool(8) as p: p.map(square, data)       141 ms   (start and stop included)

plus the map alone on a Pool(2) started beforehand: what the pool costs per map
once it exists. Compared with bench/02_pool_map_bench.cpp.
"""
import multiprocessing

import cellkit

ITEMS = 1000


def square(x):
    return x * x


def main() -> None:
    args = cellkit.parser(__doc__, runs=5).parse_args()
    data = list(range(ITEMS))

    def sequential():
        return list(map(square, data))

    cellkit.emit("square", "list_map", cellkit.median_seconds(sequential, args.runs, cellkit.loops_for(sequential)),
                 args.runs, items=ITEMS)

    def pool8_start_map_stop():
        with multiprocessing.Pool(8) as pool:
            return pool.map(square, data)

    cellkit.emit("square", "pool8_start_map_stop", cellkit.median_seconds(pool8_start_map_stop, args.runs),
                 args.runs, items=ITEMS)

    with multiprocessing.Pool(2) as pool:
        def existing_pool():
            return pool.map(square, data)

        existing_pool()  # the workers' first map imports and warms up
        cellkit.emit("square", "pool2_map", cellkit.median_seconds(existing_pool, args.runs,
                                                                   cellkit.loops_for(existing_pool)),
                     args.runs, items=ITEMS)


if __name__ == "__main__":
    main()
