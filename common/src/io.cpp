#include <kata/errors.hpp>
#include <kata/io.hpp>

#include <unistd.h>

#include <cerrno>
#include <ctime>
#include <stdexcept>
#include <string>

namespace kata {

std::size_t read_some(int fd, std::span<std::byte> buffer) {
  for (;;) {
    const ssize_t n = ::read(fd, buffer.data(), buffer.size());
    if (n >= 0) {
      return static_cast<std::size_t>(n);
    }
    if (errno != EINTR) {
      throw_errno("read");
    }
  }
}

bool read_exact_or_eof(int fd, std::span<std::byte> buffer) {
  std::size_t done = 0;
  while (done < buffer.size()) {
    const std::size_t n = read_some(fd, buffer.subspan(done));
    if (n == 0) {
      if (done == 0) {
        return false;
      }
      throw std::runtime_error("read: end of file after " + std::to_string(done) + " of " +
                               std::to_string(buffer.size()) +
                               " bytes (the writer closed mid-message)");
    }
    done += n;
  }
  return true;
}

void read_exact(int fd, std::span<std::byte> buffer) {
  if (!read_exact_or_eof(fd, buffer) && !buffer.empty()) {
    throw std::runtime_error("read: end of file, expected " + std::to_string(buffer.size()) +
                             " bytes");
  }
}

void write_all(int fd, std::span<const std::byte> data) {
  while (!data.empty()) {
    const ssize_t n = ::write(fd, data.data(), data.size());
    if (n == -1) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("write");
    }
    data = data.subspan(static_cast<std::size_t>(n));
  }
}

namespace {

bool sigpipe_pending() {
  sigset_t pending;
  sigemptyset(&pending);
  if (sigpending(&pending) == -1) {
    throw_errno("sigpending");
  }
  return sigismember(&pending, SIGPIPE) == 1;
}

}  // namespace

SigpipeGuard::SigpipeGuard() {
  // A SIGPIPE pending before we start is someone else's: we must not eat it.
  was_pending_ = sigpipe_pending();
  sigset_t block;
  sigemptyset(&block);
  sigaddset(&block, SIGPIPE);
  if (const int error = pthread_sigmask(SIG_BLOCK, &block, &old_mask_); error != 0) {
    throw_errno("pthread_sigmask", error);
  }
}

SigpipeGuard::~SigpipeGuard() {
  if (!was_pending_) {
    // Our own write raised it while blocked: discard it before unblocking.
    sigset_t sigpipe_only;
    sigemptyset(&sigpipe_only);
    sigaddset(&sigpipe_only, SIGPIPE);
    const timespec no_wait{};
    while (sigtimedwait(&sigpipe_only, nullptr, &no_wait) == -1 && errno == EINTR) {
    }
  }
  pthread_sigmask(SIG_SETMASK, &old_mask_, nullptr);
}

}  // namespace kata
