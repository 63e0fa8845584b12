// The notebook's sleepy cell: 1000 jobs that each sleep 10 ms. (./kata bench 04)
//
//   def square(x): time.sleep(0.01); return x * x
//   list(map(square, range(1000)))         10.1 s
//   with Pool(8) as p: p.map(square, ...)  1.35 s   (ideal: 1000 / 8 * 10 ms = 1.25 s)
//
// Every benchmark runs once per repetition (Iterations(1)): one run is 0.1 to 5
// seconds of sleeping. Each reports `sleep_us`, the mean measured length of the
// run's 10 ms sleeps, `ideal_ms`, ideal_time() for its item and worker counts from
// that length, and `overhead_pct`, how far the run was above ideal.
// The sequential case runs 100 items, not 1000, to save 9 seconds a repetition:
// multiply its time by 10 for the notebook's 1000.
//
// The *_peak benchmarks are not about time: they count how many jobs oneTBB runs
// at once with an arena alone, and with run_tbb()'s arena plus global_control.
#include "sleepy_workload.hpp"

#include <kata/shared_memory.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/blocked_range.h>
#include <oneapi/tbb/parallel_for.h>
#include <oneapi/tbb/partitioner.h>
#include <oneapi/tbb/task_arena.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <new>
#include <numeric>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// The jobs time their own sleeps: a sleep always overshoots a little, and more on
// a busy machine, so each run's ideal is computed from that run's own sleeps. The
// sums live in a shared anonymous mapping, made before any fork, so that the forked
// workers' sleeps count too.
struct SleepLog {
  std::atomic<std::int64_t> total_ns{0};
  std::atomic<std::int64_t> count{0};
};

SleepLog& sleep_log() {
  static const kata::Shared<SleepLog> log;  // first used in the parent, before any fork
  return *log;
}

// The notebook's job: time.sleep(0.01).
void sleep_10ms(std::int64_t /*item*/) {
  const auto start = Clock::now();
  std::this_thread::sleep_for(10ms);
  const auto slept = std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now() - start);
  sleep_log().total_ns += slept.count();
  ++sleep_log().count;
}

std::vector<std::int64_t> items_from_zero(std::int64_t count) {
  std::vector<std::int64_t> items(static_cast<std::size_t>(count));
  std::iota(items.begin(), items.end(), 0);
  return items;
}

// Times `run` once per iteration and reports it against ideal_time().
template <class Run>
void time_against_ideal(benchmark::State& state, std::size_t items, unsigned workers, Run run) {
  SleepLog& log = sleep_log();  // made here, in the parent, before any fork
  log.total_ns = 0;
  log.count = 0;
  Clock::duration total{};
  for (auto _ : state) {
    const auto start = Clock::now();
    run();
    total += Clock::now() - start;
  }
  const std::chrono::nanoseconds per_item(log.total_ns / std::max<std::int64_t>(log.count, 1));
  const auto ideal = kata::ideal_time(items, workers, per_item);
  const double seconds =
      std::chrono::duration<double>(total).count() / static_cast<double>(state.iterations());
  const double ideal_seconds = std::chrono::duration<double>(ideal).count();
  state.counters["sleep_us"] = std::chrono::duration<double, std::micro>(per_item).count();
  state.counters["ideal_ms"] = ideal_seconds * 1e3;
  state.counters["overhead_pct"] = (seconds - ideal_seconds) / ideal_seconds * 100;
}

void BM_sequential(benchmark::State& state) {
  const auto items = items_from_zero(state.range(0));
  time_against_ideal(state, items.size(), 1, [&] {
    for (const std::int64_t item : items) {
      sleep_10ms(item);
    }
  });
}
BENCHMARK(BM_sequential)->Arg(100)->Iterations(1)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_processes(benchmark::State& state) {
  const auto items = items_from_zero(state.range(0));
  const auto workers = static_cast<unsigned>(state.range(1));
  time_against_ideal(state, items.size(), workers,
                     [&] { kata::run_processes(sleep_10ms, items, workers); });
}
BENCHMARK(BM_processes)
    ->ArgsProduct({{1000}, {2, 8, 32, 100}})
    ->ArgNames({"items", "workers"})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

void BM_tbb(benchmark::State& state) {
  const auto items = items_from_zero(state.range(0));
  const auto threads = static_cast<unsigned>(state.range(1));
  time_against_ideal(state, items.size(), threads,
                     [&] { kata::run_tbb(sleep_10ms, items, threads); });
}
BENCHMARK(BM_tbb)
    ->ArgsProduct({{1000}, {2, 8, 32, 100}})
    ->ArgNames({"items", "threads"})
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// How many jobs ran at once: a job that counts itself in and out around its sleep.
std::atomic<int> running{0};
std::atomic<int> peak{0};

void counted_sleep_10ms(std::int64_t item) {
  const int now = ++running;
  int seen = peak;
  while (now > seen && !peak.compare_exchange_weak(seen, now)) {
  }
  sleep_10ms(item);
  --running;
}

template <class Run>
void measure_peak(benchmark::State& state, Run run) {
  const auto threads = static_cast<unsigned>(state.range(0));
  const auto items = items_from_zero(4 * state.range(0));
  int most = 0;
  for (auto _ : state) {
    peak = 0;
    run(items, threads);
    most = std::max(most, peak.load());
  }
  state.counters["peak"] = most;
}

// An arena of `threads` and nothing else: oneTBB gives it no more threads than cores.
void BM_tbb_arena_only_peak(benchmark::State& state) {
  measure_peak(state, [](const std::vector<std::int64_t>& items, unsigned threads) {
    tbb::task_arena arena(static_cast<int>(threads));
    arena.execute([&] {
      tbb::parallel_for(
          tbb::blocked_range<std::size_t>(0, items.size(), 1),
          [&](const tbb::blocked_range<std::size_t>& range) {
            for (std::size_t i = range.begin(); i != range.end(); ++i) {
              counted_sleep_10ms(items[i]);
            }
          },
          tbb::simple_partitioner());
    });
  });
}
BENCHMARK(BM_tbb_arena_only_peak)
    ->ArgName("threads")
    ->Arg(2)
    ->Arg(8)
    ->Arg(16)
    ->Arg(32)
    ->Arg(100)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

// run_tbb(): the same arena plus a global_control raising max_allowed_parallelism.
void BM_tbb_peak(benchmark::State& state) {
  measure_peak(state, [](const std::vector<std::int64_t>& items, unsigned threads) {
    kata::run_tbb(counted_sleep_10ms, items, threads);
  });
}
BENCHMARK(BM_tbb_peak)
    ->ArgName("threads")
    ->Arg(2)
    ->Arg(8)
    ->Arg(16)
    ->Arg(32)
    ->Arg(100)
    ->Iterations(1)
    ->UseRealTime()
    ->Unit(benchmark::kMillisecond);

}  // namespace
