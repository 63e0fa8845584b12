// Who is this process, and has that one ended? Header-only, for shm_queue.cpp:
// a claim in shared memory names its process, and a waiter asks about it.
#pragma once

#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstdint>
#include <system_error>

namespace kata {

namespace process_watch_detail {
inline std::atomic<pid_t> cached_pid{0};
inline void forget_pid() {
  cached_pid.store(0, std::memory_order_relaxed);
}
}  // namespace process_watch_detail

// getpid(), without its system call on every put and get. glibc does not cache
// the pid (since 2.25), so we do, and forget it in every child of fork(): a child
// must never claim a slot in its parent's name.
inline std::uint32_t this_process() {
  using namespace process_watch_detail;
  static const int registered = ::pthread_atfork(nullptr, nullptr, forget_pid);
  if (registered != 0) {
    throw std::system_error(registered, std::generic_category(), "ShmQueue: pthread_atfork");
  }
  pid_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = ::getpid();
    cached_pid.store(pid, std::memory_order_relaxed);
  }
  return static_cast<std::uint32_t>(pid);
}

// True once process `pid` has ended, including a zombie its parent has not yet
// reaped (kill(pid, 0) still succeeds on one; a parent waiting in get() for a
// message from the child it has not reaped would wait forever). A pidfd becomes
// readable when its process exits. A pid reused by a new process reads as
// alive: the slot waits until that one ends too.
inline bool has_ended(std::uint32_t pid) {
  const auto target = static_cast<pid_t>(pid);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, target, 0));
  if (pidfd == -1) {
    if (errno == ESRCH) {
      return true;  // gone and reaped
    }
    // No pidfd here (EMFILE, or a kernel before 5.3): kill() at least knows a reaped one.
    return ::kill(target, 0) == -1 && errno == ESRCH;
  }
  pollfd exited{pidfd, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&exited, 1, 0);
  } while (ready == -1 && errno == EINTR);
  ::close(pidfd);
  return ready > 0;
}

}  // namespace kata
