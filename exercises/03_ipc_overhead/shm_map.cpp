// Your implementation of shm_map() in ipc_overhead.hpp.
// Read README.md first; `./kata hint 03` helps when you are stuck.
#include "ipc_overhead.hpp"

#include <kata/errors.hpp>

namespace kata {

std::vector<std::int64_t> shm_map([[maybe_unused]] Task task,
                                  [[maybe_unused]] std::span<const std::int64_t> items,
                                  [[maybe_unused]] unsigned workers) {
  throw NotImplemented("shm_map");
}

}  // namespace kata
