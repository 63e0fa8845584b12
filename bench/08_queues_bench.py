"""The notebook's Process + Queue, timed: messages per second through a
multiprocessing.Queue with 1 and 4 producer processes and one consumer, the
same shape as bench/08_queues_bench.cpp. Run: python3 bench/08_queues_bench.py
"""
import multiprocessing as mp
import statistics
import time

MESSAGES = 200_000  # per run, over all producers


def produce(queue, count):
    for i in range(count):
        queue.put(i)


def messages_per_second(producers):
    queue = mp.Queue(maxsize=1024)  # bounded like the C++ queues
    each = MESSAGES // producers
    start = time.perf_counter()
    workers = [mp.Process(target=produce, args=(queue, each)) for _ in range(producers)]
    for worker in workers:
        worker.start()
    for _ in range(each * producers):
        queue.get()
    for worker in workers:
        worker.join()
    return each * producers / (time.perf_counter() - start)


if __name__ == "__main__":
    mp.set_start_method("fork")
    for producers in (1, 4):
        rates = [messages_per_second(producers) for _ in range(5)]
        print(f"multiprocessing.Queue producers:{producers}  "
              f"median {statistics.median(rates) / 1e3:.0f}k msg/s  (5 runs)")
