// A process as a file descriptor (Linux 5.3): readable once the process ends, so
// poll() can wait for a child's end beside other fds, with a deadline.
#pragma once

#include <kata/fd.hpp>

#include <sys/types.h>

namespace kata {

// pidfd_open(pid): an fd that refers to the process `pid` (close-on-exec, as every
// pidfd is). Throws std::system_error naming pidfd_open and the pid on failure
// (ESRCH: no such process; ENOSYS: a kernel older than 5.3).
[[nodiscard]] UniqueFd open_pidfd(pid_t pid);

}  // namespace kata
