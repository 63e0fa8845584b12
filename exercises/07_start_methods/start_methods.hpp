// Exercise 07: fork, spawn and forkserver, the three ways Python's multiprocessing
// starts a process, built from the system calls.
//
// The contract: tests and graders call exactly these functions.
#pragma once

#include <kata/errors.hpp>

#include <chrono>
#include <cstdint>
#include <string_view>

namespace kata {

// Python's multiprocessing.set_start_method("fork" | "spawn" | "forkserver").
enum class StartMethod {
  fork,        // fork(): the child is a copy of the parent, every thread but the caller's excepted
  spawn,       // posix_spawn() of /proc/self/exe: a fresh image of the program
  forkserver,  // a copy of a single-threaded server forked early, asked over a Unix socket
};

// Runs the registered task `task_name` on `arg` in a new process started by
// `method`, and returns the task's result.
// Throws
//   std::invalid_argument  no task is registered under that name, or the deadline
//                          is negative (checked here, before any process starts);
//   std::logic_error       StartMethod::forkserver before start_forkserver();
//   WorkerError            the child failed: the task threw (the message says
//                          what), or the child exited without delivering a
//                          result (even with status 0), or died of a signal.
//                          Reported as soon as it happens, not at the deadline;
//   ChildTimeout           no result within `deadline`: the child has been
//                          killed and reaped.
[[nodiscard]] std::int64_t run_in_child(StartMethod method, std::string_view task_name,
                                        std::int64_t arg, std::chrono::milliseconds deadline);

// Starts the fork server: a single-threaded copy of this process, forked now,
// that forks a child for each StartMethod::forkserver request it receives over
// a Unix socket. Call it early, before any thread exists: every forkserver child
// then sees the program as it was at this moment. Throws std::logic_error if the
// server is already running.
void start_forkserver();

// Beside the contract: stops the fork server (it kills and reaps any child still
// running, then exits) and reaps it. Does nothing if no server runs. Without it
// the server exits when this process does, as its socket closes.
void stop_forkserver();

// The first thing main() does (this exercise's test and benchmark mains call it): in a
// normal run it returns at once; in a child started by StartMethod::spawn it runs
// the task named on the command line, delivers its result, and _exits without
// returning. The C++ face of Python's `if __name__ == "__main__":`.
void spawn_entry_hook(int argc, char** argv);

// The task registry: a spawned child is a fresh image of the program where
// function addresses may differ, so tasks travel by name, as Python pickles a
// function by its qualified name. register_task() throws std::invalid_argument
// for a null task or a name registered twice; find_task() returns nullptr for
// an unknown name.
void register_task(std::string_view name, Task task);
[[nodiscard]] Task find_task(std::string_view name) noexcept;

// What KATA_REGISTER_TASK defines: registration while static objects are built,
// before main() runs, so the spawned child's registry is full before the hook looks.
class TaskRegistrar {
 public:
  TaskRegistrar(std::string_view name, Task task) { register_task(name, task); }
};

}  // namespace kata

// Registers `fn` (a kata::Task, named without qualification) under the name written:
//   std::int64_t square(std::int64_t x) { return x * x; }
//   KATA_REGISTER_TASK(square);
#define KATA_REGISTER_TASK(fn) \
  [[maybe_unused]] static const ::kata::TaskRegistrar kata_registered_task_##fn(#fn, &(fn))
