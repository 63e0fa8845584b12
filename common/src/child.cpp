#include <kata/child.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/pidfd.hpp>
#include <kata/poll.hpp>

#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>
#include <exception>
#include <utility>

namespace kata {

std::string signal_name(int signal) {
  // sigabbrev_np (glibc 2.32) gives "KILL" for SIGKILL; strsignal's text is localised prose.
  if (const char* abbrev = sigabbrev_np(signal); abbrev != nullptr) {
    return std::string("SIG") + abbrev;
  }
  return "signal " + std::to_string(signal);
}

bool ExitStatus::exited() const noexcept {
  return WIFEXITED(raw_);
}
int ExitStatus::exit_code() const noexcept {
  return WEXITSTATUS(raw_);
}
bool ExitStatus::signaled() const noexcept {
  return WIFSIGNALED(raw_);
}
int ExitStatus::signal() const noexcept {
  return WTERMSIG(raw_);
}

std::string ExitStatus::describe() const {
  if (exited()) {
    return "exited with status " + std::to_string(exit_code());
  }
  if (signaled()) {
    return "killed by " + signal_name(signal());
  }
  return "ended with wait status " + std::to_string(raw_);
}

ChildProcess::ChildProcess(ChildProcess&& other) noexcept : pid_(other.release()) {}

ChildProcess& ChildProcess::operator=(ChildProcess&& other) noexcept {
  if (this != &other) {
    if (valid()) {
      kill_and_wait();
    }
    pid_ = other.release();
  }
  return *this;
}

ChildProcess::~ChildProcess() {
  if (valid()) {
    try {
      kill_and_wait();
    } catch (...) {
      // Nothing to report to from a destructor; waitpid() only fails here if
      // someone else reaped our child, and then there is no zombie left anyway.
    }
  }
}

ExitStatus ChildProcess::wait() {
  int status = 0;
  while (::waitpid(pid_, &status, 0) == -1) {
    if (errno != EINTR) {
      throw_errno("waitpid");
    }
  }
  pid_ = -1;
  return ExitStatus(status);
}

std::optional<ExitStatus> ChildProcess::try_wait() {
  int status = 0;
  const pid_t reaped = ::waitpid(pid_, &status, WNOHANG);
  if (reaped == -1) {
    throw_errno("waitpid");
  }
  if (reaped == 0) {
    return std::nullopt;
  }
  pid_ = -1;
  return ExitStatus(status);
}

std::optional<ExitStatus> ChildProcess::wait_for(std::chrono::milliseconds timeout) {
  // A pidfd becomes readable when the process ends: poll() sleeps until then.
  const UniqueFd pidfd = open_pidfd(pid_);
  if (!wait_readable(pidfd.get(), std::chrono::steady_clock::now() + timeout, "poll on a pidfd")) {
    return std::nullopt;
  }
  return wait();
}

void ChildProcess::kill(int signal) const {
  if (::kill(pid_, signal) == -1) {
    throw_errno("kill");
  }
}

ExitStatus ChildProcess::kill_and_wait() {
  // ESRCH cannot happen while we have not reaped it: a zombie still has its pid.
  ::kill(pid_, SIGKILL);
  return wait();
}

pid_t ChildProcess::release() noexcept {
  return std::exchange(pid_, -1);
}

ChildProcess fork_child(const std::function<int()>& body) {
  const pid_t pid = ::fork();
  if (pid == -1) {
    throw_errno("fork");
  }
  if (pid > 0) {
    return ChildProcess(pid);
  }
  int code = 1;
  try {
    code = body();
  } catch (const std::exception& error) {
    std::fprintf(stderr, "child %d: %s\n", static_cast<int>(::getpid()), error.what());
  } catch (...) {
    std::fprintf(stderr, "child %d: unknown exception\n", static_cast<int>(::getpid()));
  }
  ::_exit(code);
}

}  // namespace kata
