// Squaring: scalar, SIMD, and oneTBB, in cache and out of it. (./kata bench 05)
//
// Two sizes:
// - the notebook's: 1000 values, as np.square(data) on an existing array; the label gives
//   NumPy's time for it on this machine.
// - memory-bound: input and output together four times the last-level cache the machine
//   reports, beside memcpy of the same bytes, the physical limit. bytes_per_second counts
//   what crosses the memory bus on purpose: the bytes read plus the bytes written.
#include "simd.hpp"

#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <fstream>
#include <string>
#include <vector>

namespace {

// np.square on an existing 1000-element int array, timed on this machine (2-core VM).
constexpr const char* kNumpyFigure = "np.square: 600 ns";

std::vector<std::int32_t> notebook_data() {
  std::vector<std::int32_t> data(1000);
  for (std::size_t i = 0; i < data.size(); ++i) {
    data[i] = static_cast<std::int32_t>(i * 10);  // the notebook's range, 0 to 10000
  }
  return data;
}

template <auto Square>
void BM_notebook_1000(benchmark::State& state) {
  const auto in = notebook_data();
  std::vector<std::int32_t> out(in.size());
  for (auto _ : state) {
    Square(in, out);
    benchmark::DoNotOptimize(out.data());
    benchmark::ClobberMemory();
  }
  state.SetLabel(kNumpyFigure);
}

void square_simd_auto(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  kata::square_simd(in, out);
}
void square_simd_cached(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  kata::square_simd(in, out, kata::Stores::cached);
}

BENCHMARK(BM_notebook_1000<kata::square_scalar>)->Name("notebook_1000/scalar")->UseRealTime();
BENCHMARK(BM_notebook_1000<square_simd_auto>)->Name("notebook_1000/simd")->UseRealTime();
BENCHMARK(BM_notebook_1000<kata::square_tbb>)->Name("notebook_1000/tbb")->UseRealTime();

// The biggest cache the machine reports, in bytes: sysconf's answer (from CPUID) and the
// kernel's (/sys) can disagree on a VM, so take the larger.
std::size_t last_level_cache_bytes() {
  std::size_t largest = static_cast<std::size_t>(std::max(0L, sysconf(_SC_LEVEL3_CACHE_SIZE)));
  for (int index = 0; index < 8; ++index) {
    std::ifstream file("/sys/devices/system/cpu/cpu0/cache/index" + std::to_string(index) +
                       "/size");
    std::size_t size = 0;
    char unit = 0;
    if (file >> size >> unit) {  // "32768K"
      size <<= unit == 'K' ? 10 : unit == 'M' ? 20 : 0;
      largest = std::max(largest, size);
    }
  }
  return largest;
}

// Input and output of the memory-bound case: four times the last-level cache together,
// at most a quarter of the RAM and 2 GiB. Built once, on first use, every page touched.
struct BigArrays {
  std::size_t cache_bytes = last_level_cache_bytes();
  std::size_t total_bytes = std::min({4 * std::max(cache_bytes, std::size_t{32} << 20),
                                      static_cast<std::size_t>(sysconf(_SC_PHYS_PAGES)) *
                                          static_cast<std::size_t>(sysconf(_SC_PAGESIZE)) / 4,
                                      std::size_t{2} << 30});
  std::vector<std::int32_t> in = std::vector<std::int32_t>(total_bytes / 2 / sizeof(std::int32_t));
  std::vector<std::int32_t> out = std::vector<std::int32_t>(in.size());

  BigArrays() {
    for (std::size_t i = 0; i < in.size(); ++i) {
      in[i] = static_cast<std::int32_t>(i % 10001);
    }
  }
};

BigArrays& big_arrays() {
  static BigArrays arrays;
  return arrays;
}

void report_memory_bound(benchmark::State& state, const BigArrays& arrays) {
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 *
                          static_cast<std::int64_t>(arrays.in.size() * sizeof(std::int32_t)));
  state.SetLabel("in+out " + std::to_string(arrays.total_bytes >> 20) + " MiB, LLC " +
                 std::to_string(arrays.cache_bytes >> 20) + " MiB");
}

void BM_memory_bound_memcpy(benchmark::State& state) {
  auto& arrays = big_arrays();
  for (auto _ : state) {
    std::memcpy(arrays.out.data(), arrays.in.data(), arrays.in.size() * sizeof(std::int32_t));
    benchmark::ClobberMemory();
  }
  report_memory_bound(state, arrays);
}
BENCHMARK(BM_memory_bound_memcpy)->Name("memory_bound/memcpy")->UseRealTime();

template <auto Square>
void BM_memory_bound(benchmark::State& state) {
  auto& arrays = big_arrays();
  for (auto _ : state) {
    Square(arrays.in, arrays.out);
    benchmark::ClobberMemory();
  }
  report_memory_bound(state, arrays);
}
BENCHMARK(BM_memory_bound<kata::square_scalar>)->Name("memory_bound/scalar")->UseRealTime();
BENCHMARK(BM_memory_bound<square_simd_cached>)->Name("memory_bound/simd_cached")->UseRealTime();
BENCHMARK(BM_memory_bound<square_simd_auto>)->Name("memory_bound/simd")->UseRealTime();
BENCHMARK(BM_memory_bound<kata::square_tbb>)->Name("memory_bound/tbb")->UseRealTime();

// Where streaming starts to pay: the same call, ordinary and streaming stores, for arrays of
// state.range(0) KiB each, called again and again (so a cached output is still in cache when
// the next call writes it). kStreamingBytes sits where the two cross on the development machine.
template <kata::Stores Stores>
void BM_crossover(benchmark::State& state) {
  const auto size = static_cast<std::size_t>(state.range(0)) * 1024 / sizeof(std::int32_t);
  std::vector<std::int32_t> in(size, 1234);
  std::vector<std::int32_t> out(size);
  for (auto _ : state) {
    kata::square_simd(in, out, Stores);
    benchmark::ClobberMemory();
  }
  state.SetBytesProcessed(static_cast<std::int64_t>(state.iterations()) * 2 *
                          static_cast<std::int64_t>(size * sizeof(std::int32_t)));
}
BENCHMARK(BM_crossover<kata::Stores::cached>)
    ->Name("crossover/cached")
    ->RangeMultiplier(4)
    ->Range(1 << 10, 1 << 16)
    ->UseRealTime();
BENCHMARK(BM_crossover<kata::Stores::streaming>)
    ->Name("crossover/streaming")
    ->RangeMultiplier(4)
    ->Range(1 << 10, 1 << 16)
    ->UseRealTime();

}  // namespace
