// RAII for file descriptors: every fd is closed on every path, exceptions included.
#pragma once

#include <fcntl.h>

#include <utility>

namespace kata {

// Owns one file descriptor and closes it when destroyed. Move-only, like
// std::unique_ptr: exactly one owner closes each fd exactly once.
class UniqueFd {
 public:
  UniqueFd() noexcept = default;
  explicit UniqueFd(int fd) noexcept : fd_(fd) {}
  UniqueFd(UniqueFd&& other) noexcept : fd_(other.release()) {}
  UniqueFd& operator=(UniqueFd&& other) noexcept {
    reset(other.release());
    return *this;
  }
  UniqueFd(const UniqueFd&) = delete;
  UniqueFd& operator=(const UniqueFd&) = delete;
  ~UniqueFd() { reset(); }

  [[nodiscard]] int get() const noexcept { return fd_; }
  [[nodiscard]] bool valid() const noexcept { return fd_ >= 0; }
  explicit operator bool() const noexcept { return valid(); }

  // Gives up ownership without closing.
  [[nodiscard]] int release() noexcept { return std::exchange(fd_, -1); }

  // Closes the current fd (if any) and takes ownership of `fd`. A failing close()
  // is ignored here: Linux frees the descriptor even then, and a destructor has
  // no one to report to. Call close() where the error matters.
  void reset(int fd = -1) noexcept;

  // Closes now and throws std::system_error if close() reports an error
  // (EIO on a write-back file, say). Never retried: on Linux the fd is gone
  // even when close() fails, and a retry could close someone else's fd.
  void close();

 private:
  int fd_ = -1;
};

// Both ends of a pipe: bytes written to write_end come out of read_end.
struct Pipe {
  UniqueFd read_end;
  UniqueFd write_end;
};

// pipe2() with O_CLOEXEC by default, so no exec'd program inherits the ends by accident.
[[nodiscard]] Pipe make_pipe(int flags = O_CLOEXEC);

}  // namespace kata
