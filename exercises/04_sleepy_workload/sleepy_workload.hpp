// Exercise 04: latency-bound work. Jobs that wait (sleep 10 ms) instead of compute,
// where more workers than cores is the right choice.
//
// The contract: tests and graders call exactly these functions.
#pragma once

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <span>

namespace kata {

// A job takes one item and returns nothing: it is run for what it does (here, wait).
// A plain function pointer, like kata::Task, so the same address names the same
// function in every forked worker.
using Job = void (*)(std::int64_t);

// Runs job(item) once for every item, in `workers` forked worker processes
// (fewer when there are fewer items), and returns when every job has finished.
//   - Every job runs in a forked worker, never in the calling process.
//   - Dynamic scheduling with chunks of one item: a worker takes the next item as
//     soon as it is free, so a slow item never holds back the items queued behind it
//     and the last round is not lopsided.
//   - A job that throws, or a worker that dies (killed by a signal, or exits),
//     makes run_processes throw kata::WorkerError saying what happened (the job's
//     exception message, or "killed by SIGKILL"); no failure is swallowed.
//   - Every worker has been reaped when run_processes returns or throws.
// workers == 0 throws std::invalid_argument.
void run_processes(Job job, std::span<const std::int64_t> items, unsigned workers);

// Runs job(item) once for every item on oneTBB, with `threads` threads running
// jobs at once (the calling thread included): a tbb::task_arena of `threads`, and
// a tbb::global_control raising max_allowed_parallelism to `threads` so that
// oneTBB really starts that many, even beyond the number of cores. Never more than
// `threads` jobs at once. An exception thrown by a job propagates to the caller.
// threads == 0 throws std::invalid_argument.
void run_tbb(Job job, std::span<const std::int64_t> items, unsigned threads);

// The best any pool of `workers` can do with `items` jobs of `per_item` each:
// ceil(items / workers) rounds of per_item. ideal_time(1000, 8, 10ms) == 1250ms.
// workers == 0 or a negative per_item throws std::invalid_argument; a result too
// large for std::chrono::nanoseconds throws std::overflow_error.
[[nodiscard]] std::chrono::nanoseconds ideal_time(std::size_t items, unsigned workers,
                                                  std::chrono::nanoseconds per_item);

}  // namespace kata
