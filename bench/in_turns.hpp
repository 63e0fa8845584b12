// A figure against its limit, timed in turns: a ratio that a noisy machine cannot bias.
//
// Two benchmarks run one after the other see two different machines: on a shared 2-core VM,
// whatever else ran in between often moves a figure more than the difference being
// measured. Here each iteration times the work and then its limit (the next one the
// other way round, so that neither always runs on the caches the other left): both
// see the same machine, and their ratio holds where the two medians do not.
#pragma once

#include <kata/child.hpp>

#include <benchmark/benchmark.h>

#include <array>
#include <chrono>

namespace kata_bench {

// The floor under any map that forks 8 workers: 8 bare fork() + _exit() + waitpid().
inline void eight_bare_forks() {
  std::array<kata::ChildProcess, 8> children;
  for (auto& child : children) {
    child = kata::fork_child([] { return 0; });
  }
  for (auto& child : children) {
    benchmark::DoNotOptimize(child.wait());
  }
}

template <class Run>
double seconds_of(Run& run) {
  const auto start = std::chrono::steady_clock::now();
  run();
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

// Times `work` and `limit` in turns. The benchmark's time is the work's (register it
// with UseManualTime()); the counter "limit" is the limit's time per iteration, and
// "x_limit" how many times the limit the work took, total against total.
template <class Work, class Limit>
void time_in_turns(benchmark::State& state, Work work, Limit limit) {
  double work_total = 0;
  double limit_total = 0;
  bool work_first = true;
  for (auto _ : state) {
    double work_seconds = 0;
    double limit_seconds = 0;
    if (work_first) {
      work_seconds = seconds_of(work);
      limit_seconds = seconds_of(limit);
    } else {
      limit_seconds = seconds_of(limit);
      work_seconds = seconds_of(work);
    }
    work_first = !work_first;
    state.SetIterationTime(work_seconds);
    work_total += work_seconds;
    limit_total += limit_seconds;
  }
  state.counters["limit"] = benchmark::Counter(limit_total, benchmark::Counter::kAvgIterations);
  state.counters["x_limit"] = work_total / limit_total;
}

}  // namespace kata_bench
