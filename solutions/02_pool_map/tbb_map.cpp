// Reference solution: the same map with threads, for comparison.
#include "pool_map.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <stdexcept>

namespace kata {

std::vector<std::int64_t> tbb_map(Task task, std::span<const std::int64_t> items) {
  if (task == nullptr) {
    throw std::invalid_argument("tbb_map: the task is a null function pointer");
  }
  // Threads share the address space: no pipes, no copies, no framing. Each
  // thread writes its own slots of `results`, so no two threads touch the same
  // element. oneTBB splits the range and steals work; an exception thrown by the
  // task cancels the rest and is rethrown here.
  std::vector<std::int64_t> results(items.size());
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, items.size()),
                    [&](const tbb::blocked_range<std::size_t>& range) {
                      for (std::size_t i = range.begin(); i != range.end(); ++i) {
                        results[i] = task(items[i]);
                      }
                    });
  return results;
}

}  // namespace kata
