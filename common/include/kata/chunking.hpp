// How many items a pool sends per message when its caller names no chunk size:
// Python's rule, written once for every exercise that needs it (02's pool, 03's
// auto_chunk).
#pragma once

#include <algorithm>
#include <cstddef>

namespace kata {

// CPython's Pool._map_async:
//     chunksize, extra = divmod(len(iterable), len(self._pool) * 4)
//     if extra: chunksize += 1
// ceil(items / (4 * workers)): about four chunks per worker. One chunk each would
// send the fewest messages, but a worker that drew slow items would hold everyone
// up at the end; four give some balance for a few more messages.
//
// Overflow-safe: the quotient and remainder never exceed `items`, where the
// familiar (items + divisor - 1) / divisor wraps around near the top of
// std::size_t. `workers` is at least 1 (the caller checks); 4 * workers only
// overflows for more workers than any machine has processes, and then saturates.
// Python says 0 for no items (and never uses it); here a chunk is at least 1 item.
[[nodiscard]] constexpr std::size_t pool_chunk_size(std::size_t items,
                                                    std::size_t workers) noexcept {
  const std::size_t most = static_cast<std::size_t>(-1);
  const std::size_t chunks_wanted =
      workers > most / 4 ? most : 4 * std::max<std::size_t>(workers, 1);
  const std::size_t chunk = items / chunks_wanted + (items % chunks_wanted != 0 ? 1 : 0);
  return std::max<std::size_t>(chunk, 1);
}

}  // namespace kata
