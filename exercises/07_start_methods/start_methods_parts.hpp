// The pieces run_in_child() is built from, one file each. The tests use only
// start_methods.hpp; this header is how the files talk to each other.
//   task_registry.cpp, task_channel.cpp  given: read them, use them
//   run_in_child.cpp, fork.cpp, spawn.cpp, fd_passing.cpp, forkserver.cpp  yours
#pragma once

#include "start_methods.hpp"

#include <kata/child.hpp>
#include <kata/fd.hpp>

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>

namespace kata::detail {

using Clock = std::chrono::steady_clock;

// ---- task_channel.cpp (given): how a child hands its outcome to the parent ----

// The fd on which a spawned or forkserver child finds its result channel, as
// stdin is always 0: the child needs no other way to learn it.
inline constexpr int child_result_fd = 3;

// What a child said on its result channel.
struct TaskReport {
  enum class Kind { value, exception, nothing };
  Kind kind = Kind::nothing;  // nothing: the channel closed before any report
  std::int64_t value = 0;     // kind == value
  std::string message;        // kind == exception: what() of what the task threw
};

// The child's side: runs task(arg) and writes one report (its value, or the
// message of what it threw) to `fd`. Returns the status for _exit().
[[nodiscard]] int run_task_and_report(Task task, std::int64_t arg, int fd) noexcept;

// The parent's side: waits until `end` for the report on `fd` (the read end of
// the channel). std::nullopt if the deadline passed first; Kind::nothing if the
// channel closed without a report (the child died or exited).
[[nodiscard]] std::optional<TaskReport> await_report(int fd, Clock::time_point end);

// The verdict: the task's value, or WorkerError saying what went wrong.
[[nodiscard]] std::int64_t result_or_throw(std::string_view task_name, const TaskReport& report,
                                           const ExitStatus& status);

// "task 'name' gave no result in time: the child was killed and reaped".
[[nodiscard]] std::string timeout_message(std::string_view task_name);

// For a direct child (fork, spawn): waits for its report and its end until `end`,
// then returns result_or_throw(); past `end` kills and reaps it and throws
// ChildTimeout. `child` is reaped on every path.
[[nodiscard]] std::int64_t collect_result(ChildProcess& child, int report_fd,
                                          std::string_view task_name, Clock::time_point end);

// ---- fork.cpp, spawn.cpp, forkserver.cpp: one start method each ----
// run_in_child() has checked the name and turned the deadline into `end`.

[[nodiscard]] std::int64_t run_forked(Task task, std::string_view task_name, std::int64_t arg,
                                      Clock::time_point end);
[[nodiscard]] std::int64_t run_spawned(std::string_view task_name, std::int64_t arg,
                                       Clock::time_point end);
[[nodiscard]] std::int64_t run_served(std::string_view task_name, std::int64_t arg,
                                      Clock::time_point end);

// ---- fd_passing.cpp: file descriptors over a Unix socket (SCM_RIGHTS) ----

// Sends `data` (at least one byte) with copies of `fds` attached; never raises
// SIGPIPE (a reader that is gone is an exception).
void send_with_fds(int socket, std::span<const std::byte> data, std::span<const int> fds);

// Receives exactly data.size() bytes and the fds sent with them into `fds`
// (the receiver's own numbers, close-on-exec). Returns false at end of stream
// before the first byte. Throws if more fds arrive than `fds` holds.
[[nodiscard]] bool receive_with_fds(int socket, std::span<std::byte> data, std::span<UniqueFd> fds);

}  // namespace kata::detail
