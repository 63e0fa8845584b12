// Exercise 08: Process and Queue, over a pipe and over shared memory.
//
// The contract: tests and graders call exactly these classes.
#pragma once

#include <kata/fd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <stdexcept>

namespace kata {

// A queue of std::int64_t over one pipe, shared by every process forked after
// it is made: Python's multiprocessing.Queue without the feeder thread and locks.
// Move-only, like the two fds it owns.
class PipeQueue {
 public:
  // Makes the pipe (O_CLOEXEC).
  PipeQueue();
  PipeQueue(PipeQueue&&) noexcept = default;
  PipeQueue& operator=(PipeQueue&&) noexcept = default;
  PipeQueue(const PipeQueue&) = delete;
  PipeQueue& operator=(const PipeQueue&) = delete;
  ~PipeQueue() = default;

  // Writes the message in ONE write() of at most PIPE_BUF bytes, which the kernel
  // keeps whole: puts from many processes never interleave. Blocks while the pipe
  // is full. Throws std::system_error (EPIPE) when no process can read any more,
  // never dies of SIGPIPE; std::logic_error after close_writer().
  void put(std::int64_t value);

  // Reads exactly one message, no byte more: bytes read ahead into this process
  // would be lost with it. Blocks while the pipe is empty; std::nullopt once every
  // writing end, in every process, is closed. std::logic_error after close_reader().
  [[nodiscard]] std::optional<std::int64_t> get();

  // Drop this process's writing (or reading) end. A reader that forked its writers
  // must close_writer(), or get() waits for itself forever. Idempotent.
  void close_writer();
  void close_reader();

 private:
  UniqueFd read_end_;
  UniqueFd write_end_;
};

// What put() throws once the queue is closed.
class QueueClosed : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// A bounded queue of std::int64_t for many producer and consumer processes, in a
// shared anonymous mapping: make it before fork(), and every child shares it.
// A process killed at any instant, in put() or asleep in it, never wedges the
// others and never makes a message appear twice or out of nothing.
// Neither copyable nor movable: each process holds its one view of the mapping,
// inherited through fork(); the destructor unmaps this process's view only.
class ShmQueue {
 public:
  // Room for `capacity` messages; 0 throws std::invalid_argument.
  explicit ShmQueue(std::size_t capacity);
  ShmQueue(const ShmQueue&) = delete;
  ShmQueue& operator=(const ShmQueue&) = delete;
  ~ShmQueue();

  // Appends; sleeps (does not spin) while the queue is full. Throws QueueClosed
  // if the queue is closed, before or while it waits.
  void put(std::int64_t value);

  // Removes the oldest message; sleeps while the queue is empty. After close():
  // the messages left, then std::nullopt.
  [[nodiscard]] std::optional<std::int64_t> get();

  // Like get(), but waits at most `timeout`: std::nullopt if nothing came.
  [[nodiscard]] std::optional<std::int64_t> get_for(std::chrono::milliseconds timeout);

  // Closes the queue for every process: put() throws from now on, and every
  // sleeping put() and get(), in any process, wakes up. Idempotent.
  void close();

  [[nodiscard]] std::size_t capacity() const noexcept { return capacity_; }

 private:
  struct Shared;  // the queue's state, in the mapping (defined by the .cpp)
  Shared* shared_ = nullptr;
  std::size_t capacity_ = 0;
  std::size_t mapping_bytes_ = 0;
};

}  // namespace kata
