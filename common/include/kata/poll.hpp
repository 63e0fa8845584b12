// Waiting for one fd, with a deadline: the loop around poll() written once.
#pragma once

#include <chrono>

namespace kata {

// Waits until `fd` is readable (data, end of file, a hang-up or an error to
// read: a read() will not block) or `deadline` passes, whichever is first. A
// signal that interrupts poll() (EINTR) is not the end: it polls again for the
// time that is left. Returns true if readable, false if the deadline passed
// first. Throws std::system_error if poll() fails; `what` names the fd in that
// message ("poll on the result channel").
[[nodiscard]] bool wait_readable(int fd, std::chrono::steady_clock::time_point deadline,
                                 const char* what = "poll");

}  // namespace kata
