"""The notebook's vectorized cell: np.square(data) on an existing 1000-element array.

1.04 µs in the notebook: faster than any process pool, because one call runs a
compiled, vectorized loop. Compared with bench/05_simd_bench.cpp. Needs NumPy
(Debian: apt-get install python3-numpy); without it the figure is skipped.
"""
import sys

import cellkit


def main() -> None:
    args = cellkit.parser(__doc__, runs=5).parse_args()
    try:
        import numpy
    except ImportError:
        cellkit.skip("numpy", "np_square", f"NumPy is not installed for {sys.executable} "
                     "(Debian: apt-get install python3-numpy, for /usr/bin/python3)")
        return
    data = numpy.arange(0, 10000, 10)  # the notebook's 1000 values, 0 to 10000
    call = lambda: numpy.square(data)  # noqa: E731
    seconds = cellkit.median_seconds(call, args.runs, cellkit.loops_for(call))
    cellkit.emit("numpy", "np_square", seconds, args.runs, items=len(data), dtype=str(data.dtype))


if __name__ == "__main__":
    main()
