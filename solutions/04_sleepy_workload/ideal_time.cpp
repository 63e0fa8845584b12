// Reference solution: the best time any pool can reach, for the benchmark to compare with.
#include "sleepy_workload.hpp"

#include <cstdint>
#include <limits>
#include <stdexcept>

namespace kata {

std::chrono::nanoseconds ideal_time(std::size_t items, unsigned workers,
                                    std::chrono::nanoseconds per_item) {
  if (workers == 0) {
    throw std::invalid_argument("ideal_time: workers must be at least 1");
  }
  if (per_item.count() < 0) {
    throw std::invalid_argument("ideal_time: per_item must not be negative");
  }
  // Each worker runs one job per round; the last round may be only partly full,
  // but it takes as long as a full one. (items + workers - 1) / workers would
  // overflow for items near SIZE_MAX, so round up from the remainder instead.
  const std::size_t rounds = items / workers + (items % workers != 0 ? 1 : 0);
  using Rep = std::chrono::nanoseconds::rep;
  if (per_item.count() != 0 &&
      rounds > static_cast<std::uint64_t>(std::numeric_limits<Rep>::max() / per_item.count())) {
    throw std::overflow_error("ideal_time: the result does not fit in std::chrono::nanoseconds");
  }
  return per_item * static_cast<Rep>(rounds);
}

}  // namespace kata
