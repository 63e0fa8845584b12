// Reference solution: the chunk size Python's Pool.map picks when you give none.
//
// The rule itself, ceil(items / (4 * workers)) with no overflow, lives in
// common/include/kata/chunking.hpp: exercise 02's pool uses the same rule, and
// two copies of it had already drifted apart (one of them could overflow). Read
// it there; this function adds the check that the contract asks for.
#include "ipc_overhead.hpp"

#include <kata/chunking.hpp>

#include <stdexcept>

namespace kata {

std::size_t auto_chunk(std::size_t items, unsigned workers) {
  if (workers == 0) {
    throw std::invalid_argument("auto_chunk: workers must be at least 1");
  }
  return pool_chunk_size(items, workers);
}

}  // namespace kata
