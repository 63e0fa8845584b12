// The scalar baseline: what a plain loop costs when the compiler may not vectorize it.
#include "simd.hpp"

#include <stdexcept>
#include <string>

namespace kata {

// clang vectorizes this loop at -O2 and GCC at -O3: the baseline would then be SIMD code in
// disguise. Each compiler is told, for this function only, to keep it scalar.
#if defined(__GNUC__) && !defined(__clang__)
__attribute__((optimize("no-tree-vectorize")))
#endif
void square_scalar(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  if (out.size() < in.size()) {
    throw std::invalid_argument("square_scalar: out has room for " + std::to_string(out.size()) +
                                " values, in has " + std::to_string(in.size()));
  }
#if defined(__clang__)
#pragma clang loop vectorize(disable) interleave(disable)
#endif
  for (std::size_t i = 0; i < in.size(); ++i) {
    out[i] = in[i] * in[i];
  }
}

}  // namespace kata
