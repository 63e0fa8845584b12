"""The notebook's Process + Queue, timed: messages through a multiprocessing.Queue
from 1, from 4 and from one producer process per online CPU ("producers_per_cpu")
to one consumer (the parent).

The notebook's cell has 10 processes put one number each; one message says
nothing about speed, so this sends --messages (20,000) per run, split over the
producers, on a queue bounded like the C++ ones. "items" / "seconds" is messages
per second. Compared with bench/08_queues_bench.cpp.
"""
import multiprocessing
import os

import cellkit


def produce(queue, count):
    for i in range(count):
        queue.put(i)


def main() -> None:
    options = cellkit.parser(__doc__, runs=3)
    options.add_argument("--messages", type=int, default=20_000, help="messages per run, all producers together")
    args = options.parse_args()
    context = multiprocessing.get_context("fork")
    for name, producers in (("producers_1", 1), ("producers_4", 4), ("producers_per_cpu", os.cpu_count() or 1)):
        each = args.messages // producers

        def run():
            queue = context.Queue(maxsize=1024)
            workers = [context.Process(target=produce, args=(queue, each)) for _ in range(producers)]
            for worker in workers:
                worker.start()
            for _ in range(each * producers):
                queue.get()
            for worker in workers:
                worker.join()

        cellkit.emit("queues", name, cellkit.median_seconds(run, args.runs), args.runs,
                     items=each * producers)


if __name__ == "__main__":
    main()
