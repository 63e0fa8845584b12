"""The notebook's start methods (prose only there), timed: Process(...).start() and
join() of a child that does nothing, per start method.

fork copies the parent; spawn starts a fresh interpreter that imports the main
module; forkserver asks a server (started once, on first use) to fork.
Compared with bench/07_start_methods_bench.cpp.
"""
import multiprocessing

import cellkit


def nothing():
    pass


def main() -> None:
    args = cellkit.parser(__doc__, runs=5).parse_args()
    for method in ("fork", "spawn", "forkserver"):
        context = multiprocessing.get_context(method)

        def start_join():
            child = context.Process(target=nothing)
            child.start()
            child.join()

        start_join()  # forkserver: start the server outside the timing
        cellkit.emit("start_methods", method, cellkit.median_seconds(start_join, args.runs), args.runs)


if __name__ == "__main__":
    main()
