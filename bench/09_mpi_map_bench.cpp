// How do the MPI maps compare? (bench/09_mpi_map_bench.sh runs this on 1, 2, 4, 8 ranks)
//
// The notebook's sleepy cell (jobs of 10 ms, here 100 of them instead of 1000 so
// that a run on one rank takes 1 s, not 10) and its trivial square cell (1000
// ints), each through the static and the dynamic map. The sleepy cell shows the
// ranks working at once; the square cell shows what a map costs when the work
// costs nothing: the messages alone. And one chunk's round trip between two
// ranks: the price of a single message, there and back.
//
// Launched as `mpiexec -n R ./09_mpi_map_bench`: every rank runs this same main
// and the same benchmarks, because every map is collective. Google Benchmark
// picks its iteration counts by timing, which would differ from rank to rank and
// leave some rank waiting in a map the others never call. So every benchmark
// here has a fixed iteration count, the same on every rank, and a barrier before
// its timed loop. Rank 0 reports what it measured: from its call to the map to
// the last result gathered, i.e. the whole map; the other ranks run silently.
#include "mpi_map.hpp"

#include <benchmark/benchmark.h>
#include <mpi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <numeric>
#include <thread>
#include <vector>

namespace {

constexpr int kRoot = 0;
constexpr std::int64_t kSleepyItems = 100;
constexpr std::int64_t kSquareItems = 1000;  // the notebook's data
constexpr auto kSleep = std::chrono::milliseconds(10);

std::int64_t square(std::int64_t x) {
  return x * x;
}

std::int64_t sleepy_square(std::int64_t x) {
  std::this_thread::sleep_for(kSleep);
  return x * x;
}

int rank_in_world() {
  int rank = 0;
  MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  return rank;
}

int ranks_in_world() {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  return size;
}

std::vector<std::int64_t> data(std::int64_t n) {
  std::vector<std::int64_t> items(static_cast<std::size_t>(n));
  std::iota(items.begin(), items.end(), 0);
  return items;
}

using MapFunction = std::vector<std::int64_t> (*)(kata::Task, std::span<const std::int64_t>,
                                                  MPI_Comm);

// One map per iteration. `workers` is how many ranks map items: all of them for
// the static map, all but the dealer for the dynamic one (unless alone).
void run_map(benchmark::State& state, MapFunction map, kata::Task task, std::int64_t n,
             int workers) {
  const std::vector<std::int64_t> items =
      rank_in_world() == kRoot ? data(n) : std::vector<std::int64_t>{};
  MPI_Barrier(MPI_COMM_WORLD);
  for (auto _ : state) {
    benchmark::DoNotOptimize(map(task, items, MPI_COMM_WORLD));
  }
  state.counters["ranks"] = ranks_in_world();
  state.counters["workers"] = workers;
  state.SetItemsProcessed(state.iterations() * n);
}

int dealt_workers() {
  return std::max(1, ranks_in_world() - 1);
}

// The notebook's ideal: every worker busy all the time, ceil(n / workers) jobs each.
void set_ideal(benchmark::State& state, int workers) {
  const std::int64_t rounds = (kSleepyItems + workers - 1) / workers;
  state.counters["ideal_ms"] = static_cast<double>(rounds * kSleep.count());
}

void BM_sleepy_static(benchmark::State& state) {
  run_map(state, kata::mpi_map, sleepy_square, kSleepyItems, ranks_in_world());
  set_ideal(state, ranks_in_world());
}
BENCHMARK(BM_sleepy_static)->Iterations(2)->UseRealTime()->Unit(benchmark::kMillisecond);

void BM_sleepy_dynamic(benchmark::State& state) {
  run_map(state, kata::mpi_map_dynamic, sleepy_square, kSleepyItems, dealt_workers());
  set_ideal(state, dealt_workers());
}
BENCHMARK(BM_sleepy_dynamic)->Iterations(2)->UseRealTime()->Unit(benchmark::kMillisecond);

// The baseline of the square cell: the same loop on this rank, no MPI.
void BM_square_sequential(benchmark::State& state) {
  const std::vector<std::int64_t> items = data(kSquareItems);
  std::vector<std::int64_t> results(items.size());
  for (auto _ : state) {
    std::transform(items.begin(), items.end(), results.begin(), square);
    benchmark::DoNotOptimize(results.data());
    benchmark::ClobberMemory();
  }
  state.SetItemsProcessed(state.iterations() * kSquareItems);
}
BENCHMARK(BM_square_sequential)->Iterations(100'000)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_square_static(benchmark::State& state) {
  run_map(state, kata::mpi_map, square, kSquareItems, ranks_in_world());
}
BENCHMARK(BM_square_static)->Iterations(500)->UseRealTime()->Unit(benchmark::kMicrosecond);

void BM_square_dynamic(benchmark::State& state) {
  run_map(state, kata::mpi_map_dynamic, square, kSquareItems, dealt_workers());
}
BENCHMARK(BM_square_dynamic)->Iterations(500)->UseRealTime()->Unit(benchmark::kMicrosecond);

// One chunk's round trip, the dynamic map's unit of messaging: rank 0 sends a
// chunk of items to the last rank, which sends it back, as a dealt chunk and its
// results travel. On one host the message goes through shared memory; run on
// two hosts (bench/09_mpi_map_bench.sh with KATA_MPI_RANKS=2x2), the last rank
// is on the other one, and it crosses TCP. The other ranks only wait.
constexpr std::int64_t kChunkItems = 84;  // what the dynamic map deals: 1000 items, 3 workers
constexpr int kChunkTag = 0;

void BM_chunk_round_trip(benchmark::State& state) {
  const int rank = rank_in_world();
  const int last = ranks_in_world() - 1;
  if (last == 0) {
    state.SkipWithError("needs two ranks or more");
    return;
  }
  std::vector<std::int64_t> chunk = data(kChunkItems);
  const int count = static_cast<int>(chunk.size());
  MPI_Barrier(MPI_COMM_WORLD);
  for (auto _ : state) {
    if (rank == kRoot) {
      MPI_Send(chunk.data(), count, MPI_INT64_T, last, kChunkTag, MPI_COMM_WORLD);
      MPI_Recv(chunk.data(), count, MPI_INT64_T, last, kChunkTag, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
    } else if (rank == last) {
      MPI_Recv(chunk.data(), count, MPI_INT64_T, kRoot, kChunkTag, MPI_COMM_WORLD,
               MPI_STATUS_IGNORE);
      MPI_Send(chunk.data(), count, MPI_INT64_T, kRoot, kChunkTag, MPI_COMM_WORLD);
    }
  }
  MPI_Barrier(MPI_COMM_WORLD);
  state.counters["ranks"] = ranks_in_world();
  state.counters["bytes"] = static_cast<double>(chunk.size() * sizeof(std::int64_t));
}
BENCHMARK(BM_chunk_round_trip)->Iterations(2000)->UseRealTime()->Unit(benchmark::kMicrosecond);

// What the ranks other than 0 report to: nothing.
class SilentReporter : public benchmark::BenchmarkReporter {
 public:
  bool ReportContext(const Context& /*context*/) override { return true; }
  void ReportRuns(const std::vector<Run>& /*runs*/) override {}
};

}  // namespace

// MPI_Init before anything, MPI_Finalize after everything: the common benchmark
// main knows nothing of MPI, so this binary brings its own.
int main(int argc, char** argv) {
  MPI_Init(&argc, &argv);
  const int rank = rank_in_world();

  // Only rank 0 may write --benchmark_out's file: the others would truncate it.
  std::vector<char*> args(argv, argv + argc);
  if (rank != kRoot) {
    std::erase_if(args, [](const char* arg) {
      return std::strncmp(arg, "--benchmark_out", std::strlen("--benchmark_out")) == 0;
    });
  }
  int count = static_cast<int>(args.size());
  args.push_back(nullptr);
  benchmark::Initialize(&count, args.data());
  if (benchmark::ReportUnrecognizedArguments(count, args.data())) {
    MPI_Finalize();
    return 1;
  }

  SilentReporter silent;
  if (rank == kRoot) {
    benchmark::RunSpecifiedBenchmarks();
  } else {
    benchmark::RunSpecifiedBenchmarks(&silent);
  }
  benchmark::Shutdown();
  MPI_Finalize();
  return 0;
}
