#include <kata/errors.hpp>
#include <kata/pidfd.hpp>

#include <sys/syscall.h>
#include <unistd.h>

#include <string>

namespace kata {

UniqueFd open_pidfd(pid_t pid) {
  // glibc 2.36 has a pidfd_open() wrapper; Debian 12's 2.36 does, older ones not:
  // the raw system call works on both.
  UniqueFd pidfd(static_cast<int>(::syscall(SYS_pidfd_open, pid, 0)));
  if (!pidfd) {
    throw_errno("pidfd_open of process " + std::to_string(pid));
  }
  return pidfd;
}

}  // namespace kata
