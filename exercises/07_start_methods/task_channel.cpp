// Given, compiled from here in every build: how a child hands its
// outcome to the parent, whichever way the child was started.
//
// One message per child on a pipe: a kind byte, then the 8-byte value, or the
// length and text of what the task threw. It is written with one write() of
// fewer than PIPE_BUF bytes, so it arrives whole or not at all.
#include "start_methods_parts.hpp"

#include <kata/errors.hpp>
#include <kata/io.hpp>
#include <kata/poll.hpp>

#include <algorithm>
#include <cerrno>
#include <exception>
#include <vector>

namespace kata::detail {

namespace {

enum class Kind : std::uint8_t { value = 1, exception = 2 };

// A message stays well under PIPE_BUF (4096 on Linux): one atomic write.
constexpr std::size_t max_message = 1024;

template <class T>
void append(std::vector<std::byte>& buffer, const T& value) {
  const auto bytes = std::as_bytes(std::span{&value, 1});
  buffer.insert(buffer.end(), bytes.begin(), bytes.end());
}

}  // namespace

int run_task_and_report(Task task, std::int64_t arg, int fd) noexcept {
  try {
    std::vector<std::byte> report;
    try {
      const std::int64_t value = task(arg);
      append(report, Kind::value);
      append(report, value);
    } catch (const std::exception& error) {
      const std::string_view what = error.what();
      const auto size = static_cast<std::uint32_t>(std::min(what.size(), max_message));
      append(report, Kind::exception);
      append(report, size);
      const auto text = std::as_bytes(std::span{what.data(), size});
      report.insert(report.end(), text.begin(), text.end());
    } catch (...) {
      constexpr std::string_view what = "an exception not derived from std::exception";
      append(report, Kind::exception);
      append(report, static_cast<std::uint32_t>(what.size()));
      const auto text = std::as_bytes(std::span{what});
      report.insert(report.end(), text.begin(), text.end());
    }
    // If the parent has given up, the write raises SIGPIPE and this child dies
    // of it: nobody is left to tell.
    write_all(fd, report);
    return 0;
  } catch (...) {
    return 1;  // the report could not be written: the parent sees "no result"
  }
}

std::optional<TaskReport> await_report(int fd, Clock::time_point end) {
  if (!wait_readable(fd, end, "poll on a result channel")) {
    return std::nullopt;
  }
  // A report, or end of file (POLLHUP).
  TaskReport report;
  Kind kind{};
  if (!read_exact_or_eof(fd, std::as_writable_bytes(std::span{&kind, 1}))) {
    return report;  // Kind::nothing
  }
  if (kind == Kind::value) {
    report.kind = TaskReport::Kind::value;
    report.value = read_value<std::int64_t>(fd);
  } else if (kind == Kind::exception) {
    report.kind = TaskReport::Kind::exception;
    const auto size = read_value<std::uint32_t>(fd);
    if (size > max_message) {
      throw WorkerError("a child's report is garbled: message of " + std::to_string(size) +
                        " bytes");
    }
    report.message.resize(size);
    read_exact(fd, std::as_writable_bytes(std::span{report.message}));
  } else {
    throw WorkerError("a child's report is garbled: unknown kind " +
                      std::to_string(static_cast<int>(kind)));
  }
  return report;
}

std::int64_t result_or_throw(std::string_view task_name, const TaskReport& report,
                             const ExitStatus& status) {
  const std::string task = "task '" + std::string(task_name) + "'";
  switch (report.kind) {
    case TaskReport::Kind::exception:
      throw WorkerError(task + " threw: " + report.message);
    case TaskReport::Kind::nothing:
      throw WorkerError(task + " delivered no result: its child " + status.describe());
    case TaskReport::Kind::value:
      if (!status.success()) {
        throw WorkerError(task + " delivered a result, but then its child " + status.describe());
      }
      return report.value;
  }
  throw WorkerError(task + ": unknown report");
}

std::string timeout_message(std::string_view task_name) {
  return "task '" + std::string(task_name) +
         "' gave no result in time: the child was killed and reaped";
}

std::int64_t collect_result(ChildProcess& child, int report_fd, std::string_view task_name,
                            Clock::time_point end) {
  const std::optional<TaskReport> report = await_report(report_fd, end);
  if (!report) {
    child.kill_and_wait();
    throw ChildTimeout(timeout_message(task_name));
  }
  // A report (or end of file) means the child is leaving: reap it, still
  // within the deadline, in case it closed the channel and carried on.
  const auto left = std::max(std::chrono::ceil<std::chrono::milliseconds>(end - Clock::now()),
                             std::chrono::milliseconds(0));
  const std::optional<ExitStatus> status = child.wait_for(left);
  if (!status) {
    child.kill_and_wait();
    throw ChildTimeout(timeout_message(task_name));
  }
  return result_or_throw(task_name, *report, *status);
}

}  // namespace kata::detail
