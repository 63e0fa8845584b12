// Messages per second through each queue (./kata bench 08): P producers put
// kMessages numbers in all, one consumer gets them. PipeQueue and ShmQueue
// between processes, tbb::concurrent_bounded_queue between threads.
// The notebook's multiprocessing.Queue, for comparison: bench/08_queues_bench.py.
#include "queues.hpp"

#include <kata/child.hpp>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/concurrent_queue.h>

#include <cstdint>
#include <stdexcept>
#include <thread>
#include <vector>

namespace {

constexpr std::int64_t kMessages = 200'000;  // per iteration, over all producers
constexpr std::size_t kCapacity = 1024;      // for both bounded queues

void BM_PipeQueue(benchmark::State& state) {
  const auto producers = static_cast<std::int64_t>(state.range(0));
  for (auto _ : state) {
    kata::PipeQueue queue;  // a fresh pipe: the last writer's close ends each round
    std::vector<kata::ChildProcess> children;
    for (std::int64_t p = 0; p < producers; ++p) {
      children.push_back(kata::fork_child([&] {
        queue.close_reader();
        for (std::int64_t i = 0; i < kMessages / producers; ++i) {
          queue.put(i);
        }
        return 0;
      }));
    }
    queue.close_writer();
    std::int64_t received = 0;
    while (queue.get()) {
      ++received;
    }
    for (auto& child : children) {
      if (!child.wait().success()) {
        state.SkipWithError("a producer failed");
      }
    }
    benchmark::DoNotOptimize(received);
  }
  state.SetItemsProcessed(state.iterations() * (kMessages / producers) * producers);
}
BENCHMARK(BM_PipeQueue)->ArgName("producers")->Arg(1)->Arg(4)->UseRealTime();

void BM_ShmQueue(benchmark::State& state) {
  const auto producers = static_cast<std::int64_t>(state.range(0));
  kata::ShmQueue queue(kCapacity);
  for (auto _ : state) {
    std::vector<kata::ChildProcess> children;
    for (std::int64_t p = 0; p < producers; ++p) {
      children.push_back(kata::fork_child([&] {
        for (std::int64_t i = 0; i < kMessages / producers; ++i) {
          queue.put(i);
        }
        return 0;
      }));
    }
    for (std::int64_t i = 0; i < kMessages / producers * producers; ++i) {
      benchmark::DoNotOptimize(queue.get());
    }
    for (auto& child : children) {
      if (!child.wait().success()) {
        state.SkipWithError("a producer failed");
      }
    }
  }
  state.SetItemsProcessed(state.iterations() * (kMessages / producers) * producers);
}
BENCHMARK(BM_ShmQueue)->ArgName("producers")->Arg(1)->Arg(4)->UseRealTime();

void BM_TbbBoundedQueue(benchmark::State& state) {
  const auto producers = static_cast<std::int64_t>(state.range(0));
  tbb::concurrent_bounded_queue<std::int64_t> queue;
  queue.set_capacity(kCapacity);
  for (auto _ : state) {
    std::vector<std::thread> threads;
    for (std::int64_t p = 0; p < producers; ++p) {
      threads.emplace_back([&] {
        for (std::int64_t i = 0; i < kMessages / producers; ++i) {
          queue.push(i);
        }
      });
    }
    std::int64_t value = 0;
    for (std::int64_t i = 0; i < kMessages / producers * producers; ++i) {
      queue.pop(value);
    }
    benchmark::DoNotOptimize(value);
    for (auto& thread : threads) {
      thread.join();
    }
  }
  state.SetItemsProcessed(state.iterations() * (kMessages / producers) * producers);
}
BENCHMARK(BM_TbbBoundedQueue)->ArgName("producers")->Arg(1)->Arg(4)->UseRealTime();

}  // namespace
