// Reference solution: oneTBB, told on purpose to run more threads than there are cores.
#include "sleepy_workload.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/global_control.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <climits>
#include <cstddef>
#include <stdexcept>

namespace kata {

void run_tbb(Job job, std::span<const std::int64_t> items, unsigned threads) {
  if (job == nullptr) {
    throw std::invalid_argument("run_tbb: job is a null function pointer");
  }
  if (threads == 0 || threads > INT_MAX) {
    throw std::invalid_argument("run_tbb: threads must be between 1 and INT_MAX");
  }
  // oneTBB keeps one thread per core, which is right for computing and wrong for
  // waiting: a job asleep in a system call holds its thread while its core idles.
  // The arena asks for `threads` slots (the calling thread takes one), but oneTBB
  // fills them from a process-wide pool capped at the core count; global_control
  // raises that cap for as long as it lives.
  const tbb::global_control allow(tbb::global_control::max_allowed_parallelism, threads);
  tbb::task_arena arena(static_cast<int>(threads));
  arena.execute([&] {
    // Grain size 1 with simple_partitioner: every item is a task of its own, so a
    // free thread always finds the next item and the last round is not lopsided.
    tbb::parallel_for(
        tbb::blocked_range<std::size_t>(0, items.size(), 1),
        [&](const tbb::blocked_range<std::size_t>& range) {
          for (std::size_t i = range.begin(); i != range.end(); ++i) {
            job(items[i]);
          }
        },
        tbb::simple_partitioner());
  });
}

}  // namespace kata
