// Exercise 05: when vectorization beats every process.
//
// The contract: tests and graders call exactly these functions.
//
// Every function squares in[i] into out[i] for each i < in.size(). The inputs must lie
// within +-46340, the largest magnitude whose square fits std::int32_t (46340^2 =
// 2'147'395'600); that is a precondition, not checked, because checking would cost a
// pass over the data. `out` may be longer than `in`: only its first in.size() elements
// are written, the rest is left untouched. An `out` shorter than `in` throws
// std::invalid_argument before anything is written. The spans may start at any
// std::int32_t address: nothing assumes vector alignment.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>

namespace kata {

// The honest baseline: one element per iteration, with the compiler's auto-vectorizer
// switched off for this one function.
void square_scalar(std::span<const std::int32_t> in, std::span<std::int32_t> out);

// How square_simd writes its results.
//   cached:    ordinary stores, through the cache: right when someone reads `out` soon.
//   streaming: non-temporal stores that bypass the cache (no read of the line before it is
//              written): right when `out` is too big to still be in cache when it is read.
enum class Stores { cached, streaming };

// Outputs of at least this many bytes are written with Stores::streaming by the two-argument
// square_simd and by square_tbb: where input and output together (32 MiB) fill a large
// last-level cache, and where the two kinds of store break even on the development machine.
inline constexpr std::size_t kStreamingBytes = std::size_t{16} << 20;

// std::experimental::native_simd<std::int32_t>: simd_lanes() elements per step, with
// explicit loads and stores, and a scalar loop for the last in.size() % simd_lanes().
// Chooses its stores by size: streaming from kStreamingBytes of output, cached below.
void square_simd(std::span<const std::int32_t> in, std::span<std::int32_t> out);

// The same, with the stores chosen by the caller: square_tbb's blocks use it, since only
// the caller knows how big the whole output is.
void square_simd(std::span<const std::int32_t> in, std::span<std::int32_t> out, Stores stores);

// tbb::parallel_for over cache-sized blocks of the arrays, square_simd on each block.
void square_tbb(std::span<const std::int32_t> in, std::span<std::int32_t> out);

// How many std::int32_t one native SIMD register holds at the target this file was
// compiled for: native_simd<std::int32_t>::size() (4 with SSE2, 8 with AVX2, 16 with AVX-512).
[[nodiscard]] std::size_t simd_lanes();

}  // namespace kata
