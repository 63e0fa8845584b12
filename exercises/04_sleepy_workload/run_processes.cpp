// Your implementation of run_processes() in sleepy_workload.hpp.
// Read README.md first; `./kata hint 04` helps when you are stuck.
#include "sleepy_workload.hpp"

#include <kata/errors.hpp>

namespace kata {

void run_processes([[maybe_unused]] Job job, [[maybe_unused]] std::span<const std::int64_t> items,
                   [[maybe_unused]] unsigned workers) {
  throw NotImplemented("run_processes");
}

}  // namespace kata
