// Start-to-result latency of each start method (./kata bench 07), beside the
// limits: a bare fork + _exit + waitpid, and a bare posix_spawn + waitpid.
//
// Python on the notebook's machine, per Process start and join:
// fork 1.7 ms, forkserver 16 ms, spawn 42 ms.
#include "start_methods.hpp"

#include <kata/errors.hpp>

#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace {

using namespace std::chrono_literals;

std::int64_t identity(std::int64_t x) {
  return x;
}
KATA_REGISTER_TASK(identity);

// A spawned child that returns from spawn_entry_hook() would run every benchmark
// again, and spawn more: the first copy marks the environment, later copies stop.
constexpr const char* copy_mark = "KATA_07_BENCH_RUNNING";
const bool is_spawned_copy = [] {
  const bool marked = std::getenv(copy_mark) != nullptr;  // NOLINT: before any thread
  ::setenv(copy_mark, "1", 1);
  return marked;
}();

void stop_if_spawned_copy() {
  if (is_spawned_copy) {
    std::fprintf(stderr, "a spawned child returned from spawn_entry_hook() into main()\n");
    ::_exit(3);
  }
}

void wait_for(pid_t pid) {
  int status = 0;
  if (::waitpid(pid, &status, 0) == -1) {
    kata::throw_errno("waitpid");
  }
}

// Each benchmark runs twice: in this small program, and with a parent that has
// filled `parent_MiB` of heap. fork() copies the parent's page tables, so its cost
// grows with the parent; posix_spawn (CLONE_VM) and the fork server (forked
// before the heap grew) do not.
std::vector<char> parent_heap(const benchmark::State& state) {
  return std::vector<char>(static_cast<std::size_t>(state.range(0)) << 20, 1);
}

void parent_sizes(benchmark::internal::Benchmark* benchmark) {
  benchmark->ArgName("parent_MiB")->Arg(0)->Arg(512)->Unit(benchmark::kMicrosecond);
}

void BM_bare_fork_exit_wait(benchmark::State& state) {
  stop_if_spawned_copy();
  const std::vector<char> heap = parent_heap(state);
  for (auto _ : state) {
    const pid_t pid = ::fork();
    if (pid == -1) {
      state.SkipWithError("fork failed");
      break;
    }
    if (pid == 0) {
      ::_exit(0);
    }
    wait_for(pid);
  }
}
BENCHMARK(BM_bare_fork_exit_wait)->Apply(parent_sizes);

void BM_bare_posix_spawn_true_wait(benchmark::State& state) {
  stop_if_spawned_copy();
  const std::vector<char> heap = parent_heap(state);
  std::string program = "/bin/true";
  char* const argv[] = {program.data(), nullptr};
  for (auto _ : state) {
    pid_t pid = -1;
    if (::posix_spawn(&pid, program.c_str(), nullptr, nullptr, argv, environ) != 0) {
      state.SkipWithError("posix_spawn /bin/true failed");
      break;
    }
    wait_for(pid);
  }
}
BENCHMARK(BM_bare_posix_spawn_true_wait)->Apply(parent_sizes);

void run_in_child_by(benchmark::State& state, kata::StartMethod method) {
  std::int64_t arg = 0;
  for (auto _ : state) {
    benchmark::DoNotOptimize(kata::run_in_child(method, "identity", ++arg, 10s));
  }
}

void BM_run_in_child_fork(benchmark::State& state) {
  stop_if_spawned_copy();
  try {
    const std::vector<char> heap = parent_heap(state);
    run_in_child_by(state, kata::StartMethod::fork);
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
  }
}
BENCHMARK(BM_run_in_child_fork)->Apply(parent_sizes);

void BM_run_in_child_spawn(benchmark::State& state) {
  stop_if_spawned_copy();
  try {
    const std::vector<char> heap = parent_heap(state);
    run_in_child_by(state, kata::StartMethod::spawn);
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
  }
}
BENCHMARK(BM_run_in_child_spawn)->Apply(parent_sizes);

// The server starts before the heap grows and outside the timed loop, as a
// program starts it once, early in main(). Google Benchmark runs this on the
// main thread, with no other thread alive.
void BM_run_in_child_forkserver(benchmark::State& state) {
  stop_if_spawned_copy();
  try {
    kata::start_forkserver();
    const std::vector<char> heap = parent_heap(state);
    run_in_child_by(state, kata::StartMethod::forkserver);
    kata::stop_forkserver();
  } catch (const std::exception& error) {
    state.SkipWithError(error.what());
    try {
      kata::stop_forkserver();
    } catch (const std::exception&) {
      // Already reported: the first error is the one that matters.
    }
  }
}
BENCHMARK(BM_run_in_child_forkserver)->Apply(parent_sizes);

}  // namespace

// This exercise's own main(), not common/'s: a spawned child of this program
// starts here too, and must run its task before anything else.
int main(int argc, char** argv) {
  kata::spawn_entry_hook(argc, argv);  // returns at once, except in a spawned child
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
