// Reference solution: StartMethod::spawn, a fresh image of this program that
// finds its task by name, and the hook in main() that runs it.
#include "start_methods_parts.hpp"

#include <kata/errors.hpp>

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

#include <charconv>
#include <cstdio>
#include <string>

namespace kata {

namespace {

// argv of a spawned child: {program, marker, task name, argument, result fd}.
constexpr std::string_view spawn_marker = "--kata-spawned-task";
constexpr int spawn_argc = 5;

template <class T>
bool parse(std::string_view text, T& value) {
  const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
  return error == std::errc() && end == text.data() + text.size();
}

}  // namespace

void spawn_entry_hook(int argc, char** argv) {
  if (argc != spawn_argc || argv[1] != spawn_marker) {
    return;  // a normal run: back to main()
  }
  // A spawned child. Static objects are built (so every KATA_REGISTER_TASK has
  // run) and main() has done nothing else yet: run the task, report, and leave
  // with _exit() so that nothing of main()'s own work ever starts.
  const std::string_view name = argv[2];
  std::int64_t arg = 0;
  int fd = -1;
  const Task task = find_task(name);
  if (task == nullptr || !parse(argv[3], arg) || !parse(argv[4], fd)) {
    std::fprintf(stderr, "spawned child: cannot run task '%s' on '%s'\n", argv[2], argv[3]);
    ::_exit(127);
  }
  ::_exit(detail::run_task_and_report(task, arg, fd));
}

namespace detail {

namespace {

// posix_spawn's option objects must be destroyed on every path.
class SpawnFileActions {
 public:
  SpawnFileActions() {
    if (const int error = ::posix_spawn_file_actions_init(&actions_); error != 0) {
      throw_errno("posix_spawn_file_actions_init", error);
    }
  }
  ~SpawnFileActions() { ::posix_spawn_file_actions_destroy(&actions_); }
  SpawnFileActions(const SpawnFileActions&) = delete;
  SpawnFileActions& operator=(const SpawnFileActions&) = delete;
  posix_spawn_file_actions_t* get() noexcept { return &actions_; }

 private:
  posix_spawn_file_actions_t actions_{};
};

class SpawnAttributes {
 public:
  SpawnAttributes() {
    if (const int error = ::posix_spawnattr_init(&attributes_); error != 0) {
      throw_errno("posix_spawnattr_init", error);
    }
  }
  ~SpawnAttributes() { ::posix_spawnattr_destroy(&attributes_); }
  SpawnAttributes(const SpawnAttributes&) = delete;
  SpawnAttributes& operator=(const SpawnAttributes&) = delete;
  posix_spawnattr_t* get() noexcept { return &attributes_; }

 private:
  posix_spawnattr_t attributes_{};
};

}  // namespace

std::int64_t run_spawned(std::string_view task_name, std::int64_t arg, Clock::time_point end) {
  // Close-on-exec: the only copy the new image keeps is the dup2() below.
  Pipe channel = make_pipe();

  // The child gets 0, 1, 2 and its channel on a fixed number; closefrom drops
  // every other fd, even those opened without O_CLOEXEC (a library's, a test's).
  // dup2() onto the same number would be a no-op that keeps close-on-exec;
  // glibc (2.29+, as POSIX 2024 asks) clears the flag in that case.
  SpawnFileActions actions;
  if (const int error = ::posix_spawn_file_actions_adddup2(actions.get(), channel.write_end.get(),
                                                           child_result_fd);
      error != 0) {
    throw_errno("posix_spawn_file_actions_adddup2", error);
  }
  if (const int error =
          ::posix_spawn_file_actions_addclosefrom_np(actions.get(), child_result_fd + 1);
      error != 0) {
    throw_errno("posix_spawn_file_actions_addclosefrom_np", error);
  }

  // An exec'd image keeps the caller's signal mask, and every signal the caller
  // ignores (exec resets a handler, which would point into the old image, but
  // not SIG_IGN): start it with no signal blocked and every action the default.
  SpawnAttributes attributes;
  sigset_t no_signals;
  sigemptyset(&no_signals);
  if (const int error = ::posix_spawnattr_setsigmask(attributes.get(), &no_signals); error != 0) {
    throw_errno("posix_spawnattr_setsigmask", error);
  }
  sigset_t all_signals;
  sigfillset(&all_signals);
  if (const int error = ::posix_spawnattr_setsigdefault(attributes.get(), &all_signals);
      error != 0) {
    throw_errno("posix_spawnattr_setsigdefault", error);
  }
  if (const int error = ::posix_spawnattr_setflags(attributes.get(),
                                                   POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
      error != 0) {
    throw_errno("posix_spawnattr_setflags", error);
  }

  // The task travels by name, the way Python's spawn pickles a function: the
  // new image has its own addresses, and looks the name up in its own registry.
  std::string program = program_invocation_name;
  std::string marker(spawn_marker);
  std::string name(task_name);
  std::string arg_text = std::to_string(arg);
  std::string fd_text = std::to_string(child_result_fd);
  char* const argv[] = {program.data(),  marker.data(),  name.data(),
                        arg_text.data(), fd_text.data(), nullptr};
  static_assert(std::size(argv) == spawn_argc + 1);

  pid_t pid = -1;
  // /proc/self/exe is this program's file, whatever its name or the current
  // directory: Python runs sys.executable the same way.
  if (const int error =
          ::posix_spawn(&pid, "/proc/self/exe", actions.get(), attributes.get(), argv, environ);
      error != 0) {
    throw_errno("posix_spawn /proc/self/exe", error);
  }
  ChildProcess child(pid);
  channel.write_end.reset();
  return collect_result(child, channel.read_end.get(), task_name, end);
}

}  // namespace detail

}  // namespace kata
