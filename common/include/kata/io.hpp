// Reads and writes that mean what they say: all the bytes, or an exception.
//
// read() and write() on pipes and sockets may move fewer bytes than asked
// (a "short" read or write) and may fail with EINTR when a signal arrives.
// These helpers loop over both, so callers think in whole messages.
// They are for blocking descriptors; a non-blocking one fails with EAGAIN.
#pragma once

#include <signal.h>

#include <cstddef>
#include <span>
#include <type_traits>

namespace kata {

// One read(): up to buffer.size() bytes, retried on EINTR. Returns 0 at end of file.
[[nodiscard]] std::size_t read_some(int fd, std::span<std::byte> buffer);

// Fills the whole buffer. Returns false on end of file before the first byte (a
// clean end of stream); throws std::runtime_error on end of file after some of
// them (a truncated message: the writer died mid-message).
[[nodiscard]] bool read_exact_or_eof(int fd, std::span<std::byte> buffer);

// Fills the whole buffer; end of file anywhere is an error.
void read_exact(int fd, std::span<std::byte> buffer);

// Writes every byte, looping over short writes and EINTR.
void write_all(int fd, std::span<const std::byte> data);

// The same for one value of a trivially copyable type, in this machine's byte order:
// both ends of our pipes run on the same machine, built from the same program.
template <class T>
requires std::is_trivially_copyable_v<T>
void write_value(int fd, const T& value) {
  write_all(fd, std::as_bytes(std::span{&value, 1}));
}

template <class T>
requires std::is_trivially_copyable_v<T>
[[nodiscard]] T read_value(int fd) {
  T value;
  read_exact(fd, std::as_writable_bytes(std::span{&value, 1}));
  return value;
}

// While alive, a write to a pipe whose reader is gone fails with EPIPE in this
// thread instead of killing the whole process with SIGPIPE. It blocks SIGPIPE for
// the calling thread only and, when done, discards a SIGPIPE that its own writes
// raised: a library must not change the process-wide disposition
// (signal(SIGPIPE, SIG_IGN)) behind its caller's back.
class SigpipeGuard {
 public:
  SigpipeGuard();
  ~SigpipeGuard();
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t old_mask_;
  bool was_pending_ = false;
};

}  // namespace kata
