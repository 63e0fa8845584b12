// Reference solution: run_in_child(), the front door the three start methods share.
#include "start_methods.hpp"
#include "start_methods_parts.hpp"

#include <stdexcept>
#include <string>

namespace kata {

std::int64_t run_in_child(StartMethod method, std::string_view task_name, std::int64_t arg,
                          std::chrono::milliseconds deadline) {
  // Checked here, before any process starts: a typo must not cost a child, and
  // a spawned child could only report it as a vague failure.
  const Task task = find_task(task_name);
  if (task == nullptr) {
    throw std::invalid_argument("run_in_child: no task is registered as '" +
                                std::string(task_name) + "' (see KATA_REGISTER_TASK)");
  }
  if (deadline.count() < 0) {
    throw std::invalid_argument("run_in_child: negative deadline");
  }
  const auto end = detail::Clock::now() + deadline;
  switch (method) {
    case StartMethod::fork:
      return detail::run_forked(task, task_name, arg, end);
    case StartMethod::spawn:
      return detail::run_spawned(task_name, arg, end);
    case StartMethod::forkserver:
      return detail::run_served(task_name, arg, end);
  }
  throw std::invalid_argument("run_in_child: unknown StartMethod " +
                              std::to_string(static_cast<int>(method)));
}

}  // namespace kata
