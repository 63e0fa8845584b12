// Reference solution: the chunk size Python's Pool.map picks when you give none.
#include "ipc_overhead.hpp"

#include <algorithm>
#include <stdexcept>

namespace kata {

std::size_t auto_chunk(std::size_t items, unsigned workers) {
  if (workers == 0) {
    throw std::invalid_argument("auto_chunk: workers must be at least 1");
  }
  // CPython's Pool._map_async:
  //     chunksize, extra = divmod(len(iterable), len(self._pool) * 4)
  //     if extra: chunksize += 1
  // About four chunks per worker: few messages, yet enough pieces that a worker
  // with slow items does not hold everyone up at the end. std::size_t is 64 bits
  // here, so 4 * workers cannot overflow; items + divisor - 1 could, hence divmod.
  const std::size_t divisor = std::size_t{4} * workers;
  const std::size_t chunk = items / divisor + (items % divisor != 0 ? 1 : 0);
  // Python says 0 for no items (and never uses it); a chunk of 0 items means nothing.
  return std::max<std::size_t>(chunk, 1);
}

}  // namespace kata
