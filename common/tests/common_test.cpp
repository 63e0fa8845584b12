// Tests of common/: the pieces every exercise stands on must be right first.
#include <kata/child.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>
#include <kata/pidfd.hpp>
#include <kata/poll.hpp>
#include <kata/shared_memory.hpp>
#include <kata/testing.hpp>

#include <fcntl.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <numeric>
#include <system_error>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;

// SIGALRM every millisecond, to a handler installed without SA_RESTART: every
// blocking call of the thread fails with EINTR while it lives. The old action
// comes back, and the timer stops, when it goes out of scope.
class SignalEveryMillisecond {
 public:
  SignalEveryMillisecond() {
    struct sigaction action {};
    action.sa_handler = [](int) {};
    if (::sigaction(SIGALRM, &action, &old_action_) == -1) {
      kata::throw_errno("sigaction SIGALRM");
    }
    const itimerval every_ms{{0, 1000}, {0, 1000}};
    if (::setitimer(ITIMER_REAL, &every_ms, nullptr) == -1) {
      kata::throw_errno("setitimer");
    }
  }
  ~SignalEveryMillisecond() {
    const itimerval off{};
    ::setitimer(ITIMER_REAL, &off, nullptr);
    ::sigaction(SIGALRM, &old_action_, nullptr);
  }
  SignalEveryMillisecond(const SignalEveryMillisecond&) = delete;
  SignalEveryMillisecond& operator=(const SignalEveryMillisecond&) = delete;

 private:
  struct sigaction old_action_ {};
};

using kata::testing::run_with_deadline;

class CommonTest : public kata::testing::LeakCheckedTest {};

std::vector<std::byte> pattern(std::size_t size) {
  std::vector<std::byte> bytes(size);
  for (std::size_t i = 0; i < size; ++i) {
    bytes[i] = static_cast<std::byte>((i * 131 + 7) % 251);
  }
  return bytes;
}

TEST_F(CommonTest, UniqueFdClosesOnDestructionAndMoves) {
  int raw_read = -1;
  {
    kata::Pipe pipe = kata::make_pipe();
    raw_read = pipe.read_end.get();
    kata::UniqueFd moved = std::move(pipe.read_end);
    EXPECT_FALSE(pipe.read_end.valid());
    EXPECT_EQ(moved.get(), raw_read);
  }
  EXPECT_EQ(::fcntl(raw_read, F_GETFD), -1) << "fd " << raw_read << " still open";
}

TEST_F(CommonTest, MakePipeSetsCloseOnExec) {
  const kata::Pipe pipe = kata::make_pipe();
  EXPECT_TRUE(::fcntl(pipe.read_end.get(), F_GETFD) & FD_CLOEXEC);
  EXPECT_TRUE(::fcntl(pipe.write_end.get(), F_GETFD) & FD_CLOEXEC);
}

TEST_F(CommonTest, WriteAllSurvivesShortWritesToASlowReader) {
  // 1 MiB is 16 pipe buffers: write() must return short counts and block many times.
  const std::vector<std::byte> sent = pattern(1 << 20);
  kata::Pipe pipe = kata::make_pipe();
  kata::ChildProcess reader = kata::fork_child([&] {
    pipe.write_end.reset();
    std::vector<std::byte> got;
    std::vector<std::byte> piece(1000);  // small, odd-sized reads, with pauses
    for (int round = 0;; ++round) {
      const std::size_t n = kata::read_some(pipe.read_end.get(), piece);
      if (n == 0) {
        break;
      }
      got.insert(got.end(), piece.begin(), piece.begin() + static_cast<std::ptrdiff_t>(n));
      if (round % 64 == 0) {
        std::this_thread::sleep_for(1ms);
      }
    }
    return got == sent ? 0 : 3;
  });
  pipe.read_end.reset();
  kata::write_all(pipe.write_end.get(), sent);
  pipe.write_end.reset();
  EXPECT_EQ(reader.wait().describe(), "exited with status 0");
}

TEST_F(CommonTest, ReadExactSurvivesEintrFromASignalTimer) {
  const SignalEveryMillisecond interruptions;  // a blocked read() fails with EINTR

  const std::vector<std::byte> sent = pattern(300'000);
  kata::Pipe pipe = kata::make_pipe();
  kata::ChildProcess writer = kata::fork_child([&] {
    pipe.read_end.reset();
    std::this_thread::sleep_for(50ms);  // the parent is blocked in read() meanwhile
    kata::write_all(pipe.write_end.get(), sent);
    return 0;
  });
  pipe.write_end.reset();
  std::vector<std::byte> got(sent.size());
  kata::read_exact(pipe.read_end.get(), got);

  EXPECT_EQ(got, sent);
  EXPECT_TRUE(writer.wait().success());
}

TEST_F(CommonTest, ReadExactReportsEndOfFileMidMessage) {
  kata::Pipe pipe = kata::make_pipe();
  const std::vector<std::byte> half = pattern(4);
  kata::write_all(pipe.write_end.get(), half);
  pipe.write_end.reset();
  std::vector<std::byte> message(8);
  EXPECT_THROW(kata::read_exact(pipe.read_end.get(), message), std::runtime_error);
}

TEST_F(CommonTest, ReadExactOrEofSaysFalseOnACleanEnd) {
  kata::Pipe pipe = kata::make_pipe();
  kata::write_value<std::int64_t>(pipe.write_end.get(), 42);
  pipe.write_end.reset();
  std::int64_t value = 0;
  EXPECT_TRUE(
      kata::read_exact_or_eof(pipe.read_end.get(), std::as_writable_bytes(std::span{&value, 1})));
  EXPECT_EQ(value, 42);
  EXPECT_FALSE(
      kata::read_exact_or_eof(pipe.read_end.get(), std::as_writable_bytes(std::span{&value, 1})));
}

TEST_F(CommonTest, SigpipeGuardTurnsAClosedReaderIntoEpipe) {
  // In a child: without the guard the signal would kill the whole test binary.
  const auto outcome = run_with_deadline(
      [] {
        kata::Pipe pipe = kata::make_pipe();
        pipe.read_end.reset();
        const kata::SigpipeGuard guard;
        try {
          kata::write_value<int>(pipe.write_end.get(), 1);
        } catch (const std::system_error& error) {
          return std::string(error.code() == std::errc::broken_pipe ? "EPIPE" : error.what());
        }
        return std::string("no error");
      },
      5s);
  EXPECT_EQ(outcome.describe(), "returned \"EPIPE\"");
}

TEST_F(CommonTest, SigpipeGuardLeavesNoSignalPendingOrBlocked) {
  const auto outcome = run_with_deadline(
      [] {
        {
          kata::Pipe pipe = kata::make_pipe();
          pipe.read_end.reset();
          const kata::SigpipeGuard guard;
          EXPECT_THROW(kata::write_value<int>(pipe.write_end.get(), 1), std::system_error);
        }
        sigset_t pending;
        sigset_t blocked;
        sigpending(&pending);
        pthread_sigmask(SIG_BLOCK, nullptr, &blocked);
        return std::string(sigismember(&pending, SIGPIPE) ? "pending " : "") +
               (sigismember(&blocked, SIGPIPE) ? "blocked" : "clean");
      },
      5s);
  EXPECT_EQ(outcome.describe(), "returned \"clean\"");
}

TEST_F(CommonTest, ExitStatusNamesTheSignal) {
  kata::ChildProcess child = kata::fork_child([] {
    ::pause();
    return 0;
  });
  child.kill(SIGKILL);
  EXPECT_EQ(child.wait().describe(), "killed by SIGKILL");
  EXPECT_EQ(kata::signal_name(SIGSEGV), "SIGSEGV");
}

TEST_F(CommonTest, ForkChildPassesTheExitCodeAndReportsExceptions) {
  EXPECT_EQ(kata::fork_child([] { return 7; }).wait().exit_code(), 7);
  EXPECT_EQ(kata::fork_child([]() -> int { throw std::runtime_error("boom"); }).wait().exit_code(),
            1);
}

TEST_F(CommonTest, ChildProcessDestructorKillsAndReaps) {
  pid_t pid = 0;
  {
    const kata::ChildProcess child = kata::fork_child([] {
      ::pause();
      return 0;
    });
    pid = child.pid();
  }
  EXPECT_EQ(::waitpid(pid, nullptr, WNOHANG), -1) << "child " << pid << " was not reaped";
  EXPECT_EQ(errno, ECHILD);
}

TEST_F(CommonTest, WaitForTimesOutThenSeesTheEnd) {
  kata::ChildProcess child = kata::fork_child([] {
    ::pause();
    return 0;
  });
  EXPECT_FALSE(child.wait_for(20ms).has_value());
  child.kill(SIGTERM);
  const auto status = child.wait_for(5s);
  ASSERT_TRUE(status.has_value());
  EXPECT_EQ(status->describe(), "killed by SIGTERM");
  EXPECT_FALSE(child.valid());
}

TEST_F(CommonTest, RunWithDeadlineReturnsOutputExceptionsAndSignals) {
  EXPECT_EQ(run_with_deadline([] { return std::string(100'000, 'x'); }, 5s).output.size(),
            100'000U);
  const auto thrown =
      run_with_deadline([]() -> std::string { throw std::runtime_error("bad"); }, 5s);
  EXPECT_EQ(thrown.exit_code, 1);
  EXPECT_EQ(thrown.output, "bad");
  // Not SIGSEGV: AddressSanitizer catches that one and exits instead.
  const auto killed = run_with_deadline(
      [] {
        ::raise(SIGTERM);
        return std::string();
      },
      5s);
  EXPECT_EQ(killed.signal, SIGTERM);
}

TEST_F(CommonTest, RunWithDeadlineKillsAHungBodyAndItsChildrenAtTheDeadline) {
  const auto outcome = run_with_deadline(
      [] {
        (void)kata::fork_child([] {
          ::pause();
          return 0;
        }).release();
        ::pause();
        return std::string();
      },
      100ms);
  EXPECT_TRUE(outcome.timed_out);
  EXPECT_FALSE(outcome.ok());
}

// ---- the POSIX building blocks ----

TEST_F(CommonTest, APidfdBecomesReadableWhenItsProcessEnds) {
  kata::ChildProcess child = kata::fork_child([] {
    ::pause();
    return 0;
  });
  const kata::UniqueFd pidfd = kata::open_pidfd(child.pid());
  EXPECT_FALSE(kata::wait_readable(pidfd.get(), std::chrono::steady_clock::now() + 20ms));
  child.kill(SIGKILL);
  EXPECT_TRUE(kata::wait_readable(pidfd.get(), std::chrono::steady_clock::now() + 5s));
  EXPECT_EQ(child.wait().describe(), "killed by SIGKILL");
}

TEST_F(CommonTest, OpenPidfdOfNoProcessSaysWhatFailed) {
  // pid_max is at most 2^22: no process has this number.
  try {
    (void)kata::open_pidfd(1 << 30);
    ADD_FAILURE() << "open_pidfd of a pid no process has did not throw";
  } catch (const std::system_error& error) {
    EXPECT_EQ(error.code().value(), ESRCH);
    EXPECT_NE(std::string(error.what()).find("pidfd_open of process 1073741824"), std::string::npos)
        << error.what();
  }
}

TEST_F(CommonTest, WaitReadablePollsAgainAfterSignalsUntilDataOrTheDeadline) {
  const SignalEveryMillisecond interruptions;  // poll() fails with EINTR every millisecond

  kata::Pipe pipe = kata::make_pipe();
  const auto start = std::chrono::steady_clock::now();
  const bool readable_early = kata::wait_readable(pipe.read_end.get(), start + 50ms);
  const auto waited = std::chrono::steady_clock::now() - start;
  kata::write_value(pipe.write_end.get(), 'x');
  const bool readable_with_data =
      kata::wait_readable(pipe.read_end.get(), std::chrono::steady_clock::now() + 5s);

  EXPECT_FALSE(readable_early);
  EXPECT_GE(waited, 50ms) << "a signal ended the wait before its deadline";
  EXPECT_TRUE(readable_with_data);
}

TEST_F(CommonTest, SharedMemoryWrittenByAChildIsSeenByItsParent) {
  const kata::Shared<std::atomic<int>> counter(41);
  kata::SharedMapping bytes(8192);
  kata::ChildProcess child = kata::fork_child([&] {
    counter->fetch_add(1);
    static_cast<char*>(bytes.data())[8191] = 'x';
    return 0;
  });
  ASSERT_TRUE(child.wait().success());
  EXPECT_EQ(counter->load(), 42);
  EXPECT_EQ(static_cast<const char*>(bytes.data())[8191], 'x');
  EXPECT_EQ(static_cast<const char*>(bytes.data())[0], '\0');  // zero-filled

  const kata::SharedMapping moved = std::move(bytes);
  EXPECT_EQ(bytes.data(), nullptr);  // NOLINT(bugprone-use-after-move): what a move leaves
  EXPECT_EQ(moved.size(), 8192U);
}

TEST(LeakChecks, SeeAZombieAndAnOpenFd) {
  const std::set<int> before = kata::testing::open_fds();
  const pid_t pid = kata::fork_child([] { return 0; }).release();
  kata::Pipe leaked = kata::make_pipe();
  // Give the child time to become a zombie: it is still our child either way.
  std::this_thread::sleep_for(20ms);
  const auto children = kata::testing::child_pids();
  EXPECT_EQ(children, std::vector<pid_t>{pid});
  EXPECT_EQ(kata::testing::open_fds().size(), before.size() + 2);
  ::waitpid(pid, nullptr, 0);
  EXPECT_TRUE(kata::testing::child_pids().empty());
}

}  // namespace
