// Reference solution: a queue over one pipe. The kernel's PIPE_BUF rule does
// the locking that CPython's Queue does with a multiprocessing.Lock.
#include "queues.hpp"

#include <kata/errors.hpp>
#include <kata/io.hpp>

#include <limits.h>
#include <unistd.h>

#include <cerrno>
#include <cstddef>
#include <span>
#include <stdexcept>

namespace kata {

// POSIX: a write() of at most PIPE_BUF bytes to a pipe is atomic, never mixed
// with another process's write. Each message is one such write, so no lock.
static_assert(sizeof(std::int64_t) <= PIPE_BUF);

PipeQueue::PipeQueue() {
  Pipe pipe = make_pipe();
  read_end_ = std::move(pipe.read_end);
  write_end_ = std::move(pipe.write_end);
}

void PipeQueue::put(std::int64_t value) {
  if (!write_end_) {
    throw std::logic_error("PipeQueue::put: this process closed its writing end");
  }
  // When every reader is gone, write() fails with EPIPE here instead of the
  // process dying of SIGPIPE.
  const SigpipeGuard guard;
  for (;;) {
    const ssize_t written = ::write(write_end_.get(), &value, sizeof value);
    if (written == static_cast<ssize_t>(sizeof value)) {
      return;
    }
    if (written == -1 && errno == EINTR) {
      continue;  // nothing was written: an atomic write is all or nothing
    }
    if (written == -1) {
      throw_errno("PipeQueue::put: write");
    }
    // Not write_all(): a second write() could land after another process's
    // message and split ours. For a blocking pipe and <= PIPE_BUF bytes, Linux
    // and POSIX promise this never happens.
    throw std::runtime_error("PipeQueue::put: short write to a pipe (" + std::to_string(written) +
                             " of " + std::to_string(sizeof value) + " bytes)");
  }
}

std::optional<std::int64_t> PipeQueue::get() {
  if (!read_end_) {
    throw std::logic_error("PipeQueue::get: this process closed its reading end");
  }
  // Ask for one message's bytes and no more: what this process buffered would
  // die with it. Every write is one whole message, so the pipe always holds
  // whole messages and a read of one message's size returns all of it.
  std::int64_t value = 0;
  if (!read_exact_or_eof(read_end_.get(), std::as_writable_bytes(std::span{&value, 1}))) {
    return std::nullopt;  // end of file: every writing end, in every process, is closed
  }
  return value;
}

void PipeQueue::close_writer() {
  if (write_end_) {
    write_end_.close();
  }
}

void PipeQueue::close_reader() {
  if (read_end_) {
    read_end_.close();
  }
}

}  // namespace kata
