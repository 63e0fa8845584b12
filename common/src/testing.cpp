#include <kata/child.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>
#include <kata/pidfd.hpp>
#include <kata/testing.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <memory>
#include <sstream>

namespace kata::testing {

namespace {

using DirPtr = std::unique_ptr<DIR, int (*)(DIR*)>;

DirPtr open_dir(const char* path) {
  DirPtr dir(::opendir(path), &::closedir);
  if (!dir) {
    throw_errno(std::string("opendir ") + path);
  }
  return dir;
}

// "pid (comm) S ppid ...": comm may hold spaces and ')', so parse after the last ')'.
struct ProcStat {
  char state = '?';
  pid_t ppid = 0;
};

bool read_proc_stat(const std::string& pid, ProcStat& stat) {
  std::ifstream file("/proc/" + pid + "/stat");
  std::string line;
  if (!std::getline(file, line)) {
    return false;  // the process ended while we looked
  }
  const auto close_paren = line.rfind(')');
  if (close_paren == std::string::npos) {
    return false;
  }
  std::istringstream rest(line.substr(close_paren + 1));
  return static_cast<bool>(rest >> stat.state >> stat.ppid);
}

std::string fd_target(int fd) {
  std::array<char, 512> target{};
  const std::string link = "/proc/self/fd/" + std::to_string(fd);
  const ssize_t n = ::readlink(link.c_str(), target.data(), target.size() - 1);
  return n < 0 ? std::string("?") : std::string(target.data(), static_cast<std::size_t>(n));
}

}  // namespace

std::set<int> open_fds() {
  const DirPtr dir = open_dir("/proc/self/fd");
  std::set<int> fds;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    const int fd = std::stoi(name);
    if (fd != ::dirfd(dir.get())) {
      fds.insert(fd);
    }
  }
  return fds;
}

std::vector<pid_t> child_pids() {
  const pid_t self = ::getpid();
  const DirPtr dir = open_dir("/proc");
  std::vector<pid_t> children;
  while (const dirent* entry = ::readdir(dir.get())) {
    const std::string name = entry->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    ProcStat stat;
    if (read_proc_stat(name, stat) && stat.ppid == self) {
      children.push_back(static_cast<pid_t>(std::stol(name)));
    }
  }
  return children;
}

void expect_no_children() {
  const std::vector<pid_t> children = child_pids();
  if (children.empty()) {
    return;
  }
  std::string list;
  for (const pid_t pid : children) {
    ProcStat stat;
    read_proc_stat(std::to_string(pid), stat);
    list += " " + std::to_string(pid) +
            (stat.state == 'Z' ? " (zombie: never reaped)" : " (still running)");
  }
  ADD_FAILURE() << "leaked child processes:" << list
                << "\nEvery child must be reaped with waitpid() before the function returns.";
  for (const pid_t pid : children) {
    ::kill(pid, SIGKILL);
    ::waitpid(pid, nullptr, 0);
  }
}

void expect_no_new_fds(const std::set<int>& before) {
  std::string leaked;
  for (const int fd : open_fds()) {
    if (!before.contains(fd)) {
      leaked += " " + std::to_string(fd) + " -> " + fd_target(fd);
    }
  }
  if (!leaked.empty()) {
    ADD_FAILURE() << "leaked file descriptors:" << leaked
                  << "\nEvery fd must be closed on every path (an RAII owner does it).";
  }
}

TempDir::TempDir() {
  const char* tmpdir =
      std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe): read before any thread
  std::string pattern = std::string(tmpdir != nullptr ? tmpdir : "/tmp") + "/kata-test-XXXXXX";
  if (::mkdtemp(pattern.data()) == nullptr) {
    throw_errno("mkdtemp " + pattern);
  }
  path_ = pattern;
}

TempDir::~TempDir() {
  std::error_code ignored;  // a destructor must not throw; a leftover temp dir is harmless
  std::filesystem::remove_all(path_, ignored);
}

void write_file(const std::filesystem::path& file, std::string_view contents) {
  std::filesystem::create_directories(file.parent_path());
  std::ofstream out(file, std::ios::binary);
  out.write(contents.data(), static_cast<std::streamsize>(contents.size()));
  out.close();
  if (!out) {
    throw std::runtime_error("cannot write " + file.string());
  }
}

void LeakCheckedTest::SetUp() {
  fds_before_ = open_fds();
}

void LeakCheckedTest::TearDown() {
  expect_no_children();
  expect_no_new_fds(fds_before_);
}

std::string ChildOutcome::describe() const {
  if (timed_out) {
    return "timed out: killed at the deadline (did it hang?)";
  }
  if (signal != 0) {
    return "killed by " + signal_name(signal) + (output.empty() ? "" : " after: " + output);
  }
  if (exit_code != 0) {
    return "failed (exit status " + std::to_string(exit_code) + "): " + output;
  }
  return "returned \"" + output + "\"";
}

ChildOutcome run_with_deadline(const std::function<std::string()>& body,
                               std::chrono::milliseconds deadline) {
  Pipe channel = make_pipe(O_CLOEXEC | O_NONBLOCK);
  const pid_t pid = ::fork();
  if (pid == -1) {
    throw_errno("fork");
  }
  if (pid == 0) {
    // A group of its own, so the deadline can kill everything the body started.
    ::setpgid(0, 0);
    channel.read_end.reset();
    const int out = channel.write_end.get();
    // The child writes its result with blocking writes.
    ::fcntl(out, F_SETFL, 0);
    int code = 0;
    std::string output;
    try {
      output = body();
    } catch (const std::exception& error) {
      output = error.what();
      code = 1;
    } catch (...) {
      output = "unknown exception";
      code = 1;
    }
    try {
      write_all(out, std::as_bytes(std::span{output}));
    } catch (...) {
      code = 2;
    }
    ::_exit(code);
  }
  ::setpgid(pid, pid);  // also here: whichever runs first, the group exists before any kill
  ChildProcess child(pid);
  channel.write_end.reset();

  const UniqueFd pidfd = open_pidfd(pid);

  ChildOutcome outcome;
  const auto drain = [&] {
    std::array<std::byte, 4096> buffer{};
    for (;;) {
      const ssize_t n = ::read(channel.read_end.get(), buffer.data(), buffer.size());
      if (n > 0) {
        outcome.output.append(reinterpret_cast<const char*>(buffer.data()),
                              static_cast<std::size_t>(n));
      } else if (n == -1 && errno == EINTR) {
        continue;
      } else {
        return;  // EOF, or nothing more for now (EAGAIN)
      }
    }
  };

  // Collect output while waiting for the child to end (the output could be
  // larger than a pipe buffer) or for the deadline.
  const auto end = std::chrono::steady_clock::now() + deadline;
  bool ended = false;
  while (!ended) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      break;
    }
    std::array<pollfd, 2> fds{{{channel.read_end.get(), POLLIN, 0}, {pidfd.get(), POLLIN, 0}}};
    const int ready = ::poll(fds.data(), fds.size(), static_cast<int>(left.count()) + 1);
    if (ready == -1 && errno != EINTR) {
      throw_errno("poll");
    }
    if (fds[0].revents != 0) {
      drain();
    }
    ended = fds[1].revents != 0;
  }
  ::kill(-pid, SIGKILL);  // the group: a hung body, or grandchildren it left behind
  const ExitStatus status = child.wait();
  drain();
  outcome.timed_out = !ended;
  if (!outcome.timed_out) {
    outcome.exit_code = status.exited() ? status.exit_code() : -1;
    outcome.signal = status.signaled() ? status.signal() : 0;
  }
  return outcome;
}

}  // namespace kata::testing
