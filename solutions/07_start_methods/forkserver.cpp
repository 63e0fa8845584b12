// Reference solution: StartMethod::forkserver, Python's default on Linux since 3.14.
//
// start_forkserver() forks a server while the program is still single-threaded.
// For each request the server forks a child, a copy of itself: the program as it
// was when the server started, with one thread and no lock held by anyone.
//
//   parent ──request + [result pipe, answers socket] (SCM_RIGHTS)──▶ server
//   server ──fork──▶ child: runs the task, writes its report into the result pipe
//   server ──pid + [pidfd] on answers──▶ parent      (right after the fork)
//   server ──exit status on answers──▶ parent        (when it has reaped the child)
#include "start_methods_parts.hpp"

#include <kata/errors.hpp>
#include <kata/io.hpp>
#include <kata/pidfd.hpp>
#include <kata/poll.hpp>

#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstdio>
#include <mutex>
#include <stdexcept>
#include <string>
#include <system_error>
#include <vector>

namespace kata {

namespace detail {

namespace {

// A request: this header, then the task's name.
struct RequestHeader {
  std::int64_t arg;
  std::uint64_t name_size;
};
constexpr std::uint64_t max_name_size = 4096;

// In the server, its socket moves to this number and every fd above is closed.
constexpr int server_socket_fd = 3;

// A connected pair of Unix stream sockets: one end stays here, the other goes there.
struct SocketPair {
  UniqueFd here;
  UniqueFd there;
};

SocketPair make_socket_pair() {
  std::array<int, 2> ends{};
  if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, ends.data()) == -1) {
    throw_errno("socketpair");
  }
  return {UniqueFd(ends[0]), UniqueFd(ends[1])};
}

// The parent may have given up on a child (it timed out, or it is gone): then
// nobody reads the answers, and that is no reason for the server to stop.
void answer(int socket, std::span<const std::byte> data, std::span<const int> fds = {}) {
  try {
    send_with_fds(socket, data, fds);
  } catch (const std::system_error& error) {
    if (error.code() != std::errc::broken_pipe && error.code() != std::errc::connection_reset) {
      throw;
    }
  }
}

// ---- the server's side ----

// A child the server forked, with a pidfd to poll for its end, and the socket
// on which its parent waits for news of it.
struct ServedProcess {
  ChildProcess process;
  UniqueFd pidfd;
  UniqueFd answers;
};

// Reads one request and forks its child. Returns false when the parent has
// closed its end of the socket.
bool serve_request(int socket, std::vector<ServedProcess>& children) {
  RequestHeader header{};
  std::array<UniqueFd, 2> fds;  // the child's result channel, the answers socket
  if (!receive_with_fds(socket, std::as_writable_bytes(std::span{&header, 1}), fds)) {
    return false;
  }
  if (header.name_size > max_name_size || !fds[0] || !fds[1]) {
    throw std::runtime_error("fork server: malformed request");
  }
  std::string name(header.name_size, '\0');
  read_exact(socket, std::as_writable_bytes(std::span{name}));
  const Task task = find_task(name);
  if (task == nullptr) {
    return true;  // closing the answers socket unanswered tells the parent
  }

  UniqueFd result = std::move(fds[0]);
  ChildProcess child;
  try {
    child = fork_child([&] {
      // Like a spawned child, the task holds 0, 1, 2 and its channel on a fixed
      // number: not the server's socket, nor the pidfds of its siblings.
      if (::dup2(result.get(), child_result_fd) == -1) {
        throw_errno("dup2 of the result channel");
      }
      if (::close_range(child_result_fd + 1, ~0U, 0) == -1) {
        throw_errno("close_range");
      }
      return run_task_and_report(task, header.arg, child_result_fd);
    });
  } catch (const std::system_error& error) {
    // Out of processes or memory: this request fails (its answers socket
    // closes unanswered), and the server serves the next one.
    std::fprintf(stderr, "fork server: %s\n", error.what());
    return true;
  }
  // The child's copy must be the last: its end is the parent's end of file.
  result.reset();

  // The pidfd lets the parent kill exactly this child at its deadline: a bare
  // pid could name another process once we have reaped this one.
  UniqueFd pidfd = open_pidfd(child.pid());
  const pid_t pid = child.pid();
  answer(fds[1].get(), std::as_bytes(std::span{&pid, 1}), std::array{pidfd.get()});
  children.push_back({std::move(child), std::move(pidfd), std::move(fds[1])});
  return true;
}

// The server's loop: one thread, poll() on the socket and on a pidfd per child.
void serve(int socket) {
  std::vector<ServedProcess> children;
  for (;;) {
    std::vector<pollfd> watched{{.fd = socket, .events = POLLIN, .revents = 0}};
    for (const ServedProcess& child : children) {
      watched.push_back({.fd = child.pidfd.get(), .events = POLLIN, .revents = 0});
    }
    if (::poll(watched.data(), watched.size(), -1) == -1) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("poll in the fork server");
    }
    // Reap every child that ended, and tell its parent how.
    for (std::size_t i = children.size(); i-- > 0;) {
      if (watched[i + 1].revents != 0) {
        const int status = children[i].process.wait().raw();
        answer(children[i].answers.get(), std::as_bytes(std::span{&status, 1}));
        children.erase(children.begin() + static_cast<std::ptrdiff_t>(i));
      }
    }
    if (watched[0].revents != 0 && !serve_request(socket, children)) {
      return;  // the parent is done: ~ChildProcess kills and reaps what still runs
    }
  }
}

int server_main(int socket) {
  // Keep 0, 1, 2 and the socket. The parent's other fds are none of the
  // server's business, and a pipe's write end kept open here would hide its end
  // of file from the parent; so would a copy of the parent's own socket end.
  if (::dup2(socket, server_socket_fd) == -1) {
    throw_errno("dup2 of the fork server's socket");
  }
  if (::close_range(server_socket_fd + 1, ~0U, 0) == -1) {
    throw_errno("close_range");
  }
  serve(server_socket_fd);
  return 0;
}

// ---- the parent's side ----

class ForkServer {
 public:
  ForkServer() = default;
  ForkServer(const ForkServer&) = delete;
  ForkServer& operator=(const ForkServer&) = delete;
  // At exit: the server must not outlive the program.
  ~ForkServer() {
    try {
      stop();
    } catch (...) {
      // A destructor has no one to tell; ~ChildProcess kills and reaps it anyway.
    }
  }

  void start() {
    const std::lock_guard lock(mutex_);
    if (process_.valid()) {
      throw std::logic_error("start_forkserver: the fork server is already running");
    }
    SocketPair ends = make_socket_pair();
    process_ = fork_child([&] { return server_main(ends.there.get()); });
    socket_ = std::move(ends.here);
  }

  void stop() {
    const std::lock_guard lock(mutex_);
    if (!process_.valid()) {
      return;
    }
    socket_.reset();  // end of file: the server kills and reaps its children, then exits
    const ExitStatus status = process_.wait();
    if (!status.success()) {
      throw WorkerError("the fork server " + status.describe());
    }
  }

  // One request at a time: requests from two threads must not interleave.
  void send(std::span<const std::byte> request, std::span<const int> fds) {
    const std::lock_guard lock(mutex_);
    if (!socket_) {
      throw std::logic_error(
          "run_in_child(StartMethod::forkserver): call start_forkserver() first, early in "
          "main(), before any thread starts");
    }
    send_with_fds(socket_.get(), request, fds);
  }

 private:
  std::mutex mutex_;
  UniqueFd socket_;
  ChildProcess process_;
};

ForkServer& fork_server() {
  static ForkServer server;
  return server;
}

// A child of the server, seen from the parent: not ours to waitpid(). We kill
// it through its pidfd; the server reaps it and sends us its status.
class ServedChild {
 public:
  ServedChild(pid_t pid, UniqueFd pidfd, UniqueFd answers) noexcept
      : pid_(pid), pidfd_(std::move(pidfd)), answers_(std::move(answers)) {}
  ServedChild(const ServedChild&) = delete;
  ServedChild& operator=(const ServedChild&) = delete;
  // On an error path: kill it; the server reaps it.
  ~ServedChild() {
    if (!ended_) {
      ::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0);
    }
  }

  [[nodiscard]] pid_t pid() const noexcept { return pid_; }

  // Waits until `end` for the server's news that the child ended.
  std::optional<ExitStatus> wait_until(Clock::time_point end) {
    if (!wait_readable(answers_.get(), end, "poll on the fork server's answers")) {
      return std::nullopt;
    }
    return read_status();
  }

  ExitStatus kill_and_wait() {
    // ESRCH: it has ended already, and the server's news is on its way.
    if (::syscall(SYS_pidfd_send_signal, pidfd_.get(), SIGKILL, nullptr, 0) == -1 &&
        errno != ESRCH) {
      throw_errno("pidfd_send_signal");
    }
    return read_status();
  }

 private:
  ExitStatus read_status() {
    int status = 0;
    if (!read_exact_or_eof(answers_.get(), std::as_writable_bytes(std::span{&status, 1}))) {
      throw WorkerError("the fork server stopped before it reaped child " + std::to_string(pid_));
    }
    ended_ = true;
    return ExitStatus(status);
  }

  pid_t pid_;
  UniqueFd pidfd_;
  UniqueFd answers_;
  bool ended_ = false;
};

}  // namespace

std::int64_t run_served(std::string_view task_name, std::int64_t arg, Clock::time_point end) {
  Pipe channel = make_pipe();
  SocketPair answers = make_socket_pair();

  const RequestHeader header{.arg = arg, .name_size = task_name.size()};
  std::vector<std::byte> request;
  const auto header_bytes = std::as_bytes(std::span{&header, 1});
  const auto name_bytes = std::as_bytes(std::span{task_name});
  request.insert(request.end(), header_bytes.begin(), header_bytes.end());
  request.insert(request.end(), name_bytes.begin(), name_bytes.end());
  fork_server().send(request, std::array{channel.write_end.get(), answers.there.get()});
  // The server has its own copies now; ours would hide the ends of file.
  channel.write_end.reset();
  answers.there.reset();

  pid_t pid = -1;
  std::array<UniqueFd, 1> pidfd;
  if (!receive_with_fds(answers.here.get(), std::as_writable_bytes(std::span{&pid, 1}), pidfd) ||
      !pidfd[0]) {
    throw WorkerError("the fork server did not start task '" + std::string(task_name) + "'");
  }
  ServedChild child(pid, std::move(pidfd[0]), std::move(answers.here));

  const std::optional<TaskReport> report = await_report(channel.read_end.get(), end);
  if (!report) {
    child.kill_and_wait();
    throw ChildTimeout(timeout_message(task_name));
  }
  const std::optional<ExitStatus> status = child.wait_until(end);
  if (!status) {
    child.kill_and_wait();
    throw ChildTimeout(timeout_message(task_name));
  }
  return result_or_throw(task_name, *report, *status);
}

}  // namespace detail

void start_forkserver() {
  detail::fork_server().start();
}

void stop_forkserver() {
  detail::fork_server().stop();
}

}  // namespace kata
