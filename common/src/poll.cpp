#include <kata/errors.hpp>
#include <kata/poll.hpp>

#include <poll.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>

namespace kata {

bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline, const char* what) {
  for (;;) {
    // Rounded up: poll() would wake a little before the deadline and go round again.
    const auto left =
        std::chrono::ceil<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    pollfd entry{.fd = fd, .events = POLLIN, .revents = 0};
    const int ready =
        ::poll(&entry, 1, static_cast<int>(std::clamp<std::int64_t>(left.count(), 0, 1 << 30)));
    if (ready == 1) {
      return true;
    }
    if (ready == 0) {
      return false;
    }
    if (errno != EINTR) {
      throw_errno(what);
    }
  }
}

}  // namespace kata
