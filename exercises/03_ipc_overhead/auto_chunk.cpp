// Your implementation of auto_chunk() in ipc_overhead.hpp.
// Read README.md first; `./kata hint 03` helps when you are stuck.
#include "ipc_overhead.hpp"

#include <kata/errors.hpp>

namespace kata {

std::size_t auto_chunk([[maybe_unused]] std::size_t items, [[maybe_unused]] unsigned workers) {
  throw NotImplemented("auto_chunk");
}

}  // namespace kata
