// Your scalar baseline for simd.hpp.
// Read README.md first; `./kata hint 05` helps when you are stuck.
#include "simd.hpp"

#include <kata/errors.hpp>

namespace kata {

void square_scalar([[maybe_unused]] std::span<const std::int32_t> in,
                   [[maybe_unused]] std::span<std::int32_t> out) {
  throw NotImplemented("square_scalar");
}

}  // namespace kata
