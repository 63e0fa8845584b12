// The main() of every exercise's benchmark binary.
#include <benchmark/benchmark.h>

namespace kata {
// See test_main.cpp: exercise 07's spawned children start here too.
[[gnu::weak]] void spawn_entry_hook(int argc, char** argv);
}  // namespace kata

int main(int argc, char** argv) {
  if (kata::spawn_entry_hook != nullptr) {
    kata::spawn_entry_hook(argc, argv);
  }
  benchmark::Initialize(&argc, argv);
  if (benchmark::ReportUnrecognizedArguments(argc, argv)) {
    return 1;
  }
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
