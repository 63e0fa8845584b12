// Why Pool.map was 1000x slower, in numbers (./kata bench 03).
//
// Two tables in one run. The price list: what one message, one byte and one
// process cost (first, while this process is still small). The ladder: one map of
// a million squares, the plain loop and shm_map; its "per_item" column is the cost
// of the work per item. README.md builds the cost model from them.
//
// This exercise's functions alone: the ladder's process-pool and oneTBB rungs are
// exercise 02's (its benchmark's BM_million_pool and BM_million_tbb_map), and
// bench/cells.json sets them on the same chart.
#include "in_turns.hpp"
#include "ipc_overhead.hpp"

#include <benchmark/benchmark.h>

#include <cstdint>
#include <exception>
#include <span>
#include <vector>

namespace {

std::int64_t square(std::int64_t x) {
  return x * x;
}

const std::vector<std::int64_t>& items(std::size_t n) {
  static std::vector<std::int64_t> data;
  if (data.size() != n) {
    // A fresh vector, not resize(): a shrunk vector keeps its old buffer, and every
    // fork below would then copy a fatter process than the notebook's.
    data = std::vector<std::int64_t>(n);
    for (std::size_t i = 0; i < n; ++i) {
      data[i] = static_cast<std::int64_t>(i % 10'000);  // the notebook's range of values
    }
  }
  return data;
}

// Every map below calls the task through a pointer, as a pool must; DoNotOptimize
// stops the compiler from seeing `square` through it and vectorising the loop
// (that is exercise 05's lesson, not this one's).
kata::Task opaque_square() {
  kata::Task task = square;
  benchmark::DoNotOptimize(task);
  return task;
}

std::vector<std::int64_t> sequential_map(kata::Task task, std::span<const std::int64_t> in) {
  std::vector<std::int64_t> out(in.size());
  for (std::size_t i = 0; i < in.size(); ++i) {
    out[i] = task(in[i]);
  }
  return out;
}

// Runs one call of the implementation under test. An exception (a stub's
// NotImplemented, say) skips the benchmark with its message instead of ending
// the whole program.
template <class Call>
bool run_or_skip(benchmark::State& state, Call call) {
  try {
    call();
    return true;
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    return false;
  }
}

// "per_item" is the wall time of one map divided by its items, in seconds.
void count_items(benchmark::State& state, std::size_t n) {
  state.counters["per_item"] =
      benchmark::Counter(static_cast<double>(n), benchmark::Counter::kIsIterationInvariantRate |
                                                     benchmark::Counter::kInvert);
}

// --- The price list ----------------------------------------------------------

// Arg: message bytes. "round_trip" is seconds per round trip (two messages).
void BM_pipe_round_trip(benchmark::State& state) {
  const std::int64_t bytes = state.range(0);
  const std::int64_t trips = bytes >= 65536 ? 200 : 1000;
  double total_ns = 0;
  for (auto _ : state) {
    if (!run_or_skip(state, [&] { total_ns += kata::pipe_round_trip_ns(bytes, trips); })) {
      break;
    }
  }
  state.counters["round_trip"] = total_ns * 1e-9 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_pipe_round_trip)->Arg(8)->Arg(4096)->Arg(65536)->UseRealTime();

// Arg: block bytes. "bandwidth" is bytes per second, 64 MiB per measurement.
void BM_pipe_bandwidth(benchmark::State& state) {
  double total = 0;
  for (auto _ : state) {
    if (!run_or_skip(state, [&] {
          total += kata::pipe_bandwidth(std::int64_t{64} << 20, state.range(0));
        })) {
      break;
    }
  }
  state.counters["bandwidth"] = total / static_cast<double>(state.iterations());
}
BENCHMARK(BM_pipe_bandwidth)->Arg(4096)->Arg(65536)->UseRealTime();

// Arg: MiB of memory the parent has touched. "start" is seconds per
// fork + _exit + waitpid: fork() copies the page tables of everything mapped, so a
// bigger parent starts its children more slowly.
void BM_process_start(benchmark::State& state) {
  const std::vector<char> ballast(static_cast<std::size_t>(state.range(0)) << 20, 1);
  benchmark::DoNotOptimize(ballast.data());
  double total_ns = 0;
  for (auto _ : state) {
    if (!run_or_skip(state, [&] { total_ns += kata::process_start_ns(100); })) {
      break;
    }
  }
  state.counters["start"] = total_ns * 1e-9 / static_cast<double>(state.iterations());
}
BENCHMARK(BM_process_start)->Arg(0)->Arg(64)->UseRealTime();

// --- The ladder: state.range(0) items ---------------------------------------

void BM_map_sequential(benchmark::State& state) {
  const auto& in = items(static_cast<std::size_t>(state.range(0)));
  const kata::Task task = opaque_square();
  for (auto _ : state) {
    benchmark::DoNotOptimize(sequential_map(task, in));
  }
  count_items(state, in.size());
}
BENCHMARK(BM_map_sequential)->Arg(1000)->Arg(1'000'000)->UseRealTime();

// Args: items, workers.
void BM_map_shm(benchmark::State& state) {
  const auto& in = items(static_cast<std::size_t>(state.range(0)));
  const kata::Task task = opaque_square();
  for (auto _ : state) {
    if (!run_or_skip(state, [&] {
          benchmark::DoNotOptimize(kata::shm_map(task, in, static_cast<unsigned>(state.range(1))));
        })) {
      break;
    }
  }
  count_items(state, in.size());
}
BENCHMARK(BM_map_shm)
    ->Args({1000, 8})  // the notebook's cell: 8 workers, 1000 ints, start and stop included
    ->Args({1'000'000, 2})
    ->Args({1'000'000, 8})
    ->UseRealTime();

// The notebook's cell by shm_map against 8 bare forks, timed in turns (see
// in_turns.hpp). shm_map forks its 8 workers and has them write straight into shared
// memory: "x_limit", what it costs beyond those forks, is what the pipes saved.
void BM_map_shm_in_turns_with_bare_forks(benchmark::State& state) {
  const auto& in = items(1000);
  const kata::Task task = opaque_square();
  run_or_skip(state, [&] {
    kata_bench::time_in_turns(
        state, [&] { benchmark::DoNotOptimize(kata::shm_map(task, in, 8)); },
        kata_bench::eight_bare_forks);
  });
}
BENCHMARK(BM_map_shm_in_turns_with_bare_forks)->Unit(benchmark::kMillisecond)->UseManualTime();

}  // namespace
