// Squares with oneTBB: cache-sized blocks spread over the cores, SIMD inside each block.
#include "simd.hpp"

#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>

#include <stdexcept>
#include <string>

namespace kata {
namespace {

// The smallest block oneTBB may hand a thread: 32 KiB of input and as much output, which
// sit in a core's L2 cache together, and take long enough (microseconds) to pay for the
// task that carries them.
constexpr std::size_t kGrainElements = 8192;

}  // namespace

void square_tbb(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  if (out.size() < in.size()) {
    throw std::invalid_argument("square_tbb: out has room for " + std::to_string(out.size()) +
                                " values, in has " + std::to_string(in.size()));
  }
  // A block cannot tell whether the whole output will outgrow the cache; this call can.
  const Stores stores = in.size_bytes() >= kStreamingBytes ? Stores::streaming : Stores::cached;
  tbb::parallel_for(tbb::blocked_range<std::size_t>(0, in.size(), kGrainElements),
                    [in, out, stores](const tbb::blocked_range<std::size_t>& block) {
                      square_simd(in.subspan(block.begin(), block.size()),
                                  out.subspan(block.begin(), block.size()), stores);
                    });
}

}  // namespace kata
