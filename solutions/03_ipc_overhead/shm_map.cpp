// Reference solution: map() with no data through pipes. The workers are forked
// after a shared anonymous mapping is made, so they inherit it; each one writes
// its results straight into it, and the parent reads them after waitpid().
#include "ipc_overhead.hpp"

#include <kata/child.hpp>
#include <kata/cpus.hpp>
#include <kata/errors.hpp>

#include <sys/mman.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cstdio>
#include <exception>
#include <memory>
#include <stdexcept>
#include <string>

namespace kata {

namespace {

// Owns one shared anonymous mapping: mmap() when made, munmap() when dropped, on
// every path. MAP_SHARED is the whole point: with MAP_PRIVATE each worker's
// stores would land in its own copy-on-write pages, and the parent would read zeros.
class SharedMapping {
 public:
  explicit SharedMapping(std::size_t bytes) : size_(bytes) {
    void* address =
        ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    if (address == MAP_FAILED) {
      throw_errno("mmap of " + std::to_string(bytes) + " shared bytes");
    }
    address_ = address;
  }
  ~SharedMapping() { ::munmap(address_, size_); }
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;

  [[nodiscard]] void* data() const noexcept { return address_; }

 private:
  void* address_ = nullptr;
  std::size_t size_;
};

// What a worker tells the parent besides its results. Each worker writes only its
// own report and its own range of results, and the parent reads them only after
// waitpid() has said that worker is gone: no two processes ever touch the same
// bytes at the same time, so plain stores are enough (no atomics, no locks).
// alignas keeps the results that follow the reports 8-byte aligned.
struct alignas(std::int64_t) WorkerReport {
  bool finished = false;          // the whole range was computed
  std::array<char, 247> error{};  // a task's message; empty unless a task threw
};

// A worker's whole life: compute its range, report, and leave with _exit() so that
// nothing of the parent's (destructors, atexit handlers, stdio buffers) runs twice.
[[noreturn]] void run_worker(Task task, std::span<const std::int64_t> items,
                             std::span<std::int64_t> results, std::size_t first,
                             WorkerReport& report) noexcept {
  std::size_t i = 0;
  const auto fail = [&](const char* what) {
    std::snprintf(report.error.data(), report.error.size(), "task threw on items[%zu]: %s",
                  first + i, what);
    ::_exit(1);
  };
  try {
    for (; i < items.size(); ++i) {
      results[i] = task(items[i]);
    }
  } catch (const std::exception& error) {
    fail(error.what());
  } catch (...) {
    fail("an exception that is not a std::exception");
  }
  report.finished = true;
  ::_exit(0);
}

}  // namespace

std::vector<std::int64_t> shm_map(Task task, std::span<const std::int64_t> items,
                                  unsigned workers) {
  if (task == nullptr) {
    throw std::invalid_argument("shm_map: task is a null function pointer");
  }
  const std::size_t n = items.size();
  if (n == 0) {
    return {};  // nothing to compute: no mapping, no fork
  }
  if (workers == 0) {
    workers = default_worker_count();
  }
  // No idle workers: with 3 items and 8 workers, 3 processes are enough.
  const auto count = static_cast<unsigned>(std::min<std::size_t>(workers, n));

  // Made before the fork, so every worker inherits it at the same address.
  SharedMapping mapping(count * sizeof(WorkerReport) + n * sizeof(std::int64_t));
  auto* reports = static_cast<WorkerReport*>(mapping.data());
  for (unsigned w = 0; w < count; ++w) {
    std::construct_at(reports + w);
  }
  const std::span<std::int64_t> results(reinterpret_cast<std::int64_t*>(reports + count), n);

  std::vector<ChildProcess> children;
  children.reserve(count);  // emplace_back below must not throw and lose a pid
  for (unsigned w = 0; w < count; ++w) {
    // Static partition: worker w gets [n*w/count, n*(w+1)/count). Range sizes
    // differ by at most one, and the ranges cover 0..n exactly, with no gap or
    // overlap. (ceil(n/count) per worker instead can leave the last ones empty.)
    const std::size_t first = n * w / count;
    const std::size_t last = n * (w + 1) / count;
    const pid_t pid = ::fork();
    if (pid == -1) {
      throw_errno("fork");  // the workers already forked are killed and reaped by their handles
    }
    if (pid == 0) {
      run_worker(task, items.subspan(first, last - first), results.subspan(first, last - first),
                 first, reports[w]);
    }
    children.emplace_back(pid);
  }

  // Reap every worker before judging any: no zombie on any path.
  std::string failure;
  for (unsigned w = 0; w < count; ++w) {
    const pid_t pid = children[w].pid();
    const ExitStatus status = children[w].wait();
    if (!failure.empty()) {
      continue;
    }
    const WorkerReport& report = reports[w];
    const std::string worker =
        "shm_map: worker " + std::to_string(w) + " (pid " + std::to_string(pid) + ")";
    if (report.error[0] != '\0') {
      failure = worker + ": " + report.error.data();
    } else if (!status.success()) {
      failure = worker + " " + status.describe();
    } else if (!report.finished) {
      failure = worker + " exited before finishing its range (did a task call exit()?)";
    }
  }
  if (!failure.empty()) {
    throw WorkerError(failure);  // never a partial result
  }
  return {results.begin(), results.end()};
}

}  // namespace kata
