#include <kata/errors.hpp>
#include <kata/fd.hpp>

#include <unistd.h>

namespace kata {

void UniqueFd::reset(int fd) noexcept {
  if (fd_ >= 0) {
    ::close(fd_);  // See the header: the fd is released even when close() fails.
  }
  fd_ = fd;
}

void UniqueFd::close() {
  if (::close(release()) == -1) {
    throw_errno("close");
  }
}

Pipe make_pipe(int flags) {
  int fds[2];
  if (::pipe2(fds, flags) == -1) {
    throw_errno("pipe2");
  }
  return Pipe{UniqueFd(fds[0]), UniqueFd(fds[1])};
}

}  // namespace kata
