// Reference solution: StartMethod::fork, Python's default on Linux until 3.14.
#include "start_methods_parts.hpp"

namespace kata::detail {

std::int64_t run_forked(Task task, std::string_view task_name, std::int64_t arg,
                        Clock::time_point end) {
  Pipe channel = make_pipe();
  // The child is a copy of this process: the same addresses, so the function
  // pointer itself is valid there, and every global holds what it holds now.
  // Only the calling thread is copied: a lock another thread holds stays locked
  // in the child forever.
  ChildProcess child = fork_child([&] {
    channel.read_end.reset();
    return run_task_and_report(task, arg, channel.write_end.get());
  });
  // Our copy of the write end would keep the pipe open: no end of file when the
  // child dies, and a dead child would look like a slow one.
  channel.write_end.reset();
  return collect_result(child, channel.read_end.get(), task_name, end);
}

}  // namespace kata::detail
