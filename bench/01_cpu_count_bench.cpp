// How much does each answer to "how many CPUs?" cost? (./kata bench 01)
// A pool asks once, so none of this matters for speed: it shows what each call
// really does (one sysconf reads /sys; cgroup_cpu_limit reads several files).
#include "cpu_count.hpp"

#include <benchmark/benchmark.h>

namespace {

void BM_online_cpus(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(kata::online_cpus());
  }
}
BENCHMARK(BM_online_cpus);

void BM_affinity_cpus(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(kata::affinity_cpus());
  }
}
BENCHMARK(BM_affinity_cpus);

void BM_cgroup_cpu_limit(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(kata::cgroup_cpu_limit("/sys/fs/cgroup", "/proc/self/cgroup"));
  }
}
BENCHMARK(BM_cgroup_cpu_limit);

void BM_usable_cpus(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(kata::usable_cpus());
  }
}
BENCHMARK(BM_usable_cpus);

void BM_tbb_default_concurrency(benchmark::State& state) {
  for (auto _ : state) {
    benchmark::DoNotOptimize(kata::tbb_default_concurrency());
  }
}
BENCHMARK(BM_tbb_default_concurrency);

}  // namespace
