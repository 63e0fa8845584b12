// Squares with std::experimental::simd: one native register of lanes per step.
#include "simd.hpp"

#include <cstdint>
#include <experimental/simd>
#include <stdexcept>
#include <string>

#if defined(__SSE2__)
#include <immintrin.h>
#endif

namespace kata {
namespace {

namespace stdx = std::experimental;
using Lanes = stdx::native_simd<std::int32_t>;

// A streaming store writes a whole register to an address aligned to its size. The width
// is the one native_simd chose for this target, so the intrinsic must match it.
void store_streaming(const Lanes& squares, std::int32_t* out) {
#if defined(__AVX512F__)
  static_assert(sizeof(Lanes) == sizeof(__m512i));
  _mm512_stream_si512(reinterpret_cast<__m512i*>(out), static_cast<__m512i>(squares));
#elif defined(__AVX2__)
  static_assert(sizeof(Lanes) == sizeof(__m256i));
  _mm256_stream_si256(reinterpret_cast<__m256i*>(out), static_cast<__m256i>(squares));
#elif defined(__SSE2__)
  static_assert(sizeof(Lanes) == sizeof(__m128i));
  _mm_stream_si128(reinterpret_cast<__m128i*>(out), static_cast<__m128i>(squares));
#else
  squares.copy_to(out, stdx::vector_aligned);  // no streaming store here: an ordinary one
#endif
}

// Streaming stores are weakly ordered: without the fence, another thread (the one that
// joins a parallel_for, say) could read `out` before they reach memory.
void fence_streaming_stores() {
#if defined(__SSE2__)
  _mm_sfence();
#endif
}

bool is_vector_aligned(const std::int32_t* p) {
  return reinterpret_cast<std::uintptr_t>(p) % stdx::memory_alignment_v<Lanes> == 0;
}

// Returns how many leading elements it squared: every whole register's worth.
std::size_t square_cached(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  std::size_t i = 0;
  for (; i + Lanes::size() <= in.size(); i += Lanes::size()) {
    // element_aligned: the spans may start anywhere, so the loads and stores must not
    // assume the register's alignment (vector_aligned would fault on SSE).
    Lanes x(in.data() + i, stdx::element_aligned);
    x *= x;
    x.copy_to(out.data() + i, stdx::element_aligned);
  }
  return i;
}

// The same with streaming stores, which need an aligned destination: the elements before the
// first aligned address of `out` go one at a time.
std::size_t square_streaming(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  std::size_t i = 0;
  for (; i < in.size() && !is_vector_aligned(out.data() + i); ++i) {
    out[i] = in[i] * in[i];
  }
  for (; i + Lanes::size() <= in.size(); i += Lanes::size()) {
    Lanes x(in.data() + i, stdx::element_aligned);
    store_streaming(x * x, out.data() + i);
  }
  fence_streaming_stores();
  return i;
}

}  // namespace

void square_simd(std::span<const std::int32_t> in, std::span<std::int32_t> out, Stores stores) {
  if (out.size() < in.size()) {
    throw std::invalid_argument("square_simd: out has room for " + std::to_string(out.size()) +
                                " values, in has " + std::to_string(in.size()));
  }
  std::size_t i = stores == Stores::streaming ? square_streaming(in, out) : square_cached(in, out);
  // The tail: fewer than Lanes::size() elements are left, too few for a register.
  for (; i < in.size(); ++i) {
    out[i] = in[i] * in[i];
  }
}

void square_simd(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  square_simd(in, out, in.size_bytes() >= kStreamingBytes ? Stores::streaming : Stores::cached);
}

std::size_t simd_lanes() {
  return Lanes::size();
}

}  // namespace kata
