// Exercise 02: a process pool, Python's Pool.map rebuilt from fork, pipes, poll and waitpid.
//
// The contract: tests and graders call exactly these functions.
#pragma once

#include <kata/errors.hpp>

#include <sys/types.h>

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <vector>

namespace kata {

// A fixed set of worker processes, forked once, that run a Task over many items.
// What Python's multiprocessing.Pool is, with the fork start method. One thread
// uses a pool at a time.
class ProcessPool {
 public:
  // Forks `workers` worker processes (0 means kata::default_worker_count(): the
  // CPUs this process may run on). Each is a direct child of this process.
  explicit ProcessPool(unsigned workers = 0);

  // Stops every worker and reaps it: no zombie and no open fd outlive the pool.
  ~ProcessPool();

  ProcessPool(const ProcessPool&) = delete;
  ProcessPool& operator=(const ProcessPool&) = delete;
  ProcessPool(ProcessPool&&) = delete;
  ProcessPool& operator=(ProcessPool&&) = delete;

  // How many workers the pool keeps.
  [[nodiscard]] unsigned size() const;

  // The process ids of the current workers. The same from one map to the next,
  // unless a worker died and was replaced.
  [[nodiscard]] std::vector<pid_t> worker_pids() const;

  // results[i] = task(items[i]), computed in the workers (never in this process),
  // in the order of the items. `chunk` items travel together in one message;
  // 0 picks Python's size: ceil(items / (4 * workers)).
  // A task that throws, or a worker that dies, makes map throw WorkerError saying
  // what happened ("killed by SIGKILL"); the pool stays usable, with a new worker
  // in place of a dead one. A null task is std::invalid_argument.
  [[nodiscard]] std::vector<std::int64_t> map(Task task, std::span<const std::int64_t> items,
                                              std::size_t chunk = 0);

 private:
  // Your pool's state (its workers, their pipes, ...): you define it in your .cpp,
  // so the design is yours.
  struct State;
  std::unique_ptr<State> state_;
};

// The same map with threads: tbb::parallel_for over the items, for comparison.
// An exception thrown by the task reaches the caller as it was thrown.
[[nodiscard]] std::vector<std::int64_t> tbb_map(Task task, std::span<const std::int64_t> items);

}  // namespace kata
