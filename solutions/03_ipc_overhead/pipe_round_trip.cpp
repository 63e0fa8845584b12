// Reference solution: what one message and its answer cost, measured as a
// ping-pong between this process and a forked child that echoes.
#include "ipc_overhead.hpp"

#include <kata/child.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <stdexcept>
#include <string>
#include <vector>

namespace kata {

namespace {

// The child's whole life: read one whole message, write it back, until the
// parent closes its end of the pipe (end of file).
int echo_messages(int from_parent, int to_parent, std::size_t bytes) {
  std::vector<std::byte> message(bytes);
  // The whole message first, then the echo: echoing piece by piece while the
  // parent is still writing deadlocks once both pipes are full (64 KiB each).
  while (read_exact_or_eof(from_parent, message)) {
    write_all(to_parent, message);
  }
  return 0;
}

// Writes the sequence number over the first bytes, so that every message differs
// from the one before and a stale or replayed echo cannot pass the check.
void stamp(std::vector<std::byte>& message, std::int64_t sequence) {
  std::memcpy(message.data(), &sequence, std::min(message.size(), sizeof sequence));
}

}  // namespace

double pipe_round_trip_ns(std::int64_t bytes, std::int64_t iterations) {
  if (bytes < 1) {
    throw std::invalid_argument("pipe_round_trip_ns: bytes must be at least 1 (got " +
                                std::to_string(bytes) +
                                "): a zero-byte write() puts nothing in a pipe");
  }
  if (iterations < 1) {
    throw std::invalid_argument("pipe_round_trip_ns: iterations must be at least 1 (got " +
                                std::to_string(iterations) + ")");
  }
  const auto size = static_cast<std::size_t>(bytes);

  Pipe to_child = make_pipe();
  Pipe from_child = make_pipe();
  ChildProcess child = fork_child([&] {
    // While the child holds the write end of its own input, its read can never
    // see end of file: drop the parent's ends.
    to_child.write_end.reset();
    from_child.read_end.reset();
    return echo_messages(to_child.read_end.get(), from_child.write_end.get(), size);
  });
  // And the parent drops the child's ends: if the child dies, our read sees end
  // of file instead of waiting forever for a writer that is us.
  to_child.read_end.reset();
  from_child.write_end.reset();

  const SigpipeGuard no_sigpipe;  // the child may die while we write to it
  std::vector<std::byte> message(size);
  for (std::size_t i = 0; i < size; ++i) {
    message[i] = static_cast<std::byte>(i * 31 + 7);
  }
  std::vector<std::byte> echo(size);
  const auto round_trip = [&](std::int64_t sequence) {
    stamp(message, sequence);
    write_all(to_child.write_end.get(), message);
    read_exact(from_child.read_end.get(), echo);
    if (echo != message) {
      throw std::runtime_error("pipe_round_trip_ns: echo " + std::to_string(sequence) +
                               " differs from the message sent");
    }
  };

  round_trip(-1);  // not timed: the child's first wake-up, the first touch of every page
  const auto start = std::chrono::steady_clock::now();
  for (std::int64_t i = 0; i < iterations; ++i) {
    round_trip(i);
  }
  const std::chrono::duration<double, std::nano> elapsed = std::chrono::steady_clock::now() - start;

  to_child.write_end.close();  // end of file: the child's loop ends, and so does the child
  const ExitStatus status = child.wait();
  if (!status.success()) {
    throw WorkerError("pipe_round_trip_ns: the echo child " + status.describe());
  }
  return elapsed.count() / static_cast<double>(iterations);
}

}  // namespace kata
