// Messages per second through each queue (./kata bench 08): P producers put
// kMessages numbers in all, one consumer gets them. PipeQueue and ShmQueue
// between processes, tbb::concurrent_bounded_queue between threads; P is 1, 4,
// and one per online CPU ("producers:per_cpu"), where the consumer has to win
// a CPU from the producers. The notebook's multiprocessing.Queue, for
// comparison: bench/python/queues.py.
#include "queues.hpp"

#include <kata/child.hpp>

#include <unistd.h>

#include <benchmark/benchmark.h>
#include <oneapi/tbb/concurrent_queue.h>

#include <cstdint>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace {

constexpr std::int64_t kMessages = 200'000;  // per iteration, over all producers
constexpr std::size_t kCapacity = 1024;      // for both bounded queues

void BM_PipeQueue(benchmark::State& state, std::int64_t producers) {
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

void BM_ShmQueue(benchmark::State& state, std::int64_t producers) {
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

void BM_TbbBoundedQueue(benchmark::State& state, std::int64_t producers) {
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

std::int64_t online_cpus() {
  const long online = ::sysconf(_SC_NPROCESSORS_ONLN);
  return online > 0 ? online : 1;
}

// Each queue at 1 and 4 producers, then at one per online CPU. The names are
// what bench/cells.json reads: "BM_ShmQueue/producers:4/real_time".
const bool kRegistered = [] {
  using Body = void (*)(benchmark::State&, std::int64_t);
  const std::pair<std::string, Body> queues[] = {
      {"BM_PipeQueue", BM_PipeQueue},
      {"BM_ShmQueue", BM_ShmQueue},
      {"BM_TbbBoundedQueue", BM_TbbBoundedQueue},
  };
  for (const auto& [name, body] : queues) {
    for (const std::int64_t producers : {1, 4}) {
      benchmark::RegisterBenchmark((name + "/producers:" + std::to_string(producers)).c_str(), body,
                                   producers)
          ->UseRealTime();
    }
    benchmark::RegisterBenchmark((name + "/producers:per_cpu").c_str(), body, online_cpus())
        ->UseRealTime();
  }
  return true;
}();

}  // namespace
