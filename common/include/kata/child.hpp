// Child processes as values: a handle that kills and reaps its child when dropped,
// so no error path leaves a zombie or an orphan behind.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>

namespace kata {

// "SIGKILL" for SIGKILL; "signal 42" for a number without a name.
[[nodiscard]] std::string signal_name(int signal);

// How a child ended: waitpid()'s status word, decoded.
class ExitStatus {
 public:
  explicit ExitStatus(int raw_status) noexcept : raw_(raw_status) {}

  [[nodiscard]] bool exited() const noexcept;    // called _exit()/exit(), or returned from main
  [[nodiscard]] int exit_code() const noexcept;  // valid when exited()
  [[nodiscard]] bool signaled() const noexcept;  // killed by a signal
  [[nodiscard]] int signal() const noexcept;     // valid when signaled()
  [[nodiscard]] bool success() const noexcept { return exited() && exit_code() == 0; }
  [[nodiscard]] int raw() const noexcept { return raw_; }

  // "exited with status 3", "killed by SIGKILL".
  [[nodiscard]] std::string describe() const;

 private:
  int raw_;
};

// Owns one child process. Move-only. Destroying a handle whose child has not
// been waited for sends it SIGKILL and reaps it.
class ChildProcess {
 public:
  ChildProcess() noexcept = default;
  explicit ChildProcess(pid_t pid) noexcept : pid_(pid) {}
  ChildProcess(ChildProcess&& other) noexcept;
  ChildProcess& operator=(ChildProcess&& other) noexcept;
  ChildProcess(const ChildProcess&) = delete;
  ChildProcess& operator=(const ChildProcess&) = delete;
  ~ChildProcess();

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }
  [[nodiscard]] bool valid() const noexcept { return pid_ > 0; }

  // Blocks until the child ends and reaps it; the handle is then empty.
  ExitStatus wait();

  // Reaps the child if it has ended, without blocking.
  std::optional<ExitStatus> try_wait();

  // Waits at most `timeout` for the child to end (it sleeps in poll() on a pidfd,
  // no busy loop); std::nullopt if it is still running.
  std::optional<ExitStatus> wait_for(std::chrono::milliseconds timeout);

  // Sends a signal. The child stays owned: wait() for it afterwards.
  void kill(int signal) const;

  // SIGKILL, then wait(): the end of every error path.
  ExitStatus kill_and_wait();

  // Gives up ownership: the caller must reap the child.
  [[nodiscard]] pid_t release() noexcept;

 private:
  pid_t pid_ = -1;
};

// fork()s; the child runs `body` and leaves with _exit(body's return value), or
// with _exit(1) after printing the message if it throws. The child never returns
// into the caller's stack: exit() would run the parent's atexit handlers and
// flush the parent's stdio buffers a second time.
[[nodiscard]] ChildProcess fork_child(const std::function<int()>& body);

}  // namespace kata
