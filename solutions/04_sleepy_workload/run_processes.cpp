// Reference solution: forked workers that take items one at a time from a counter
// in shared memory (dynamic scheduling, chunks of one item).
#include "sleepy_workload.hpp"

#include <kata/child.hpp>
#include <kata/errors.hpp>
#include <kata/shared_memory.hpp>

#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <vector>

namespace kata {

namespace {

// What the workers share. fork() gives each worker a private copy of everything
// else; this lives in a MAP_SHARED anonymous mapping made before the fork, so
// every worker and the parent see the same bytes.
struct Board {
  // The index of the next item to hand out. fetch_add gives each item to exactly
  // one worker, and a worker takes its next item the moment it is free.
  std::atomic<std::size_t> next{0};
  // Jobs that have finished, to notice a worker that vanished in mid-job.
  std::atomic<std::size_t> done{0};
  // Set after a failure: the workers take no new items.
  std::atomic<bool> stop{false};
  // The first failing job's message; whoever sets `failed` first writes it.
  std::atomic<bool> failed{false};
  char message[512]{};
};

// An atomic in memory shared between processes must be lock-free: a lock-based
// one would keep its lock where only one process can see it.
static_assert(std::atomic<std::size_t>::is_always_lock_free);
static_assert(std::atomic<bool>::is_always_lock_free);

// A worker's exit status when one of its jobs threw: the message is on the board.
// (fork_child uses 1 for an exception that escapes the worker itself.)
constexpr int kJobThrew = 2;

void report_failure(Board& board, const std::string& message) {
  if (!board.failed.exchange(true)) {
    const std::size_t length = std::min(message.size(), sizeof board.message - 1);
    std::memcpy(board.message, message.data(), length);
    board.message[length] = '\0';
  }
  board.stop = true;
}

// One worker's life: take the next item until there is none left. Returns the
// worker's exit status.
int work(Board& board, Job job, std::span<const std::int64_t> items) {
  while (!board.stop) {
    const std::size_t index = board.next.fetch_add(1);
    if (index >= items.size()) {
      return 0;
    }
    try {
      job(items[index]);
    } catch (const std::exception& error) {
      report_failure(board, "job(" + std::to_string(items[index]) + ") threw: " + error.what());
      return kJobThrew;
    } catch (...) {
      report_failure(board, "job(" + std::to_string(items[index]) + ") threw a non-std exception");
      return kJobThrew;
    }
    ++board.done;
  }
  return 0;
}

}  // namespace

void run_processes(Job job, std::span<const std::int64_t> items, unsigned workers) {
  if (job == nullptr) {
    throw std::invalid_argument("run_processes: job is a null function pointer");
  }
  if (workers == 0) {
    throw std::invalid_argument("run_processes: workers must be at least 1");
  }
  if (items.empty()) {
    return;
  }
  const Shared<Board> board;  // common/: a Board in a shared anonymous mapping
  const std::size_t count = std::min<std::size_t>(workers, items.size());

  // If a fork fails part way, the handles already made kill and reap their
  // workers as the exception leaves this function.
  std::vector<ChildProcess> children;
  children.reserve(count);
  for (std::size_t i = 0; i < count; ++i) {
    children.push_back(fork_child([&] { return work(*board, job, items); }));
  }

  // Reap every worker, whatever happened to the others; remember the first failure.
  std::optional<std::string> failure;
  for (ChildProcess& child : children) {
    const pid_t pid = child.pid();
    const ExitStatus status = child.wait();
    if (status.success()) {
      continue;
    }
    board->stop = true;  // the others finish the job in hand and take no more
    if (!failure) {
      const bool job_threw = status.exited() && status.exit_code() == kJobThrew;
      failure = job_threw ? std::string(board->message)
                          : "worker process " + std::to_string(pid) + " " + status.describe() +
                                " in the middle of a job";
    }
  }
  if (failure) {
    throw WorkerError("run_processes: " + *failure);
  }
  // A job that calls _exit(0) ends its worker "successfully" with its item unfinished.
  if (board->done != items.size()) {
    throw WorkerError("run_processes: " + std::to_string(items.size() - board->done) +
                      " jobs never finished: a worker ended in the middle of a job");
  }
}

}  // namespace kata
