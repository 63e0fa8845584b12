"""The notebook's file-search cells, on a tree given as an argument.

  os.walk per top-level directory, sequential     80.9 ms
  the same, Pool().map over top-level directories 141 ms (slower)
  Path(root).glob('**/*.py')                        134 ms

`kata bench 06` does not run this script: bench/06_file_scan_bench.cpp generates
its trees of 100,000 files and runs these same cells on them itself (its
BM_python rows), so Python and C++ scan the same warm tree. Use this script on a
tree of your own: python3 bench/python/find_py.py ~/src
"""
import os
from multiprocessing import Pool
from pathlib import Path

import cellkit


def find_py(top):
    found = []
    for dirpath, _dirnames, filenames in os.walk(top):
        found.extend(os.path.join(dirpath, f) for f in filenames if f.endswith(".py"))
    return found


def main() -> None:
    options = cellkit.parser(__doc__, runs=3)
    options.add_argument("root", nargs="?", help="the tree to search")
    args = options.parse_args()
    if not args.root:
        for name in ("walk", "pool", "glob"):
            cellkit.skip("find", name, "no tree given: python3 bench/python/find_py.py ROOT")
        return
    tops = [os.path.join(args.root, d) for d in os.listdir(args.root)]

    def walk():
        return [f for top in tops for f in find_py(top)]

    def pool():
        with Pool() as workers:
            return [f for part in workers.map(find_py, tops) for f in part]

    def glob():
        return [str(p) for p in Path(args.root).glob("**/*.py")]

    found = len(walk())  # also warms the cache, as the notebook's second run was
    for name, run in (("walk", walk), ("pool", pool), ("glob", glob)):
        cellkit.emit("find", name, cellkit.median_seconds(run, args.runs), args.runs, files=found)


if __name__ == "__main__":
    main()
