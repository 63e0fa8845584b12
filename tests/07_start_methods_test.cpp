// Tests of exercise 07: fork, spawn and forkserver, built from the system calls.
//
// Every test runs its processes inside kata::testing::run_with_deadline(): a fresh,
// single-threaded copy of this test program (so start_forkserver() runs "early,
// before any thread exists" there), which a hang cannot outlive. The fixture then
// checks that the test program itself kept no child and no fd, and the fresh
// process checks the same of itself before it reports.
#include "start_methods.hpp"

#include <kata/child.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>
#include <kata/pidfd.hpp>
#include <kata/poll.hpp>
#include <kata/testing.hpp>

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <functional>
#include <future>
#include <map>
#include <mutex>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

namespace kata {
// How gtest prints a parameter: "fork", not "4-byte object <00-00 00-00>".
void PrintTo(StartMethod method, std::ostream* out) {
  switch (method) {
    case StartMethod::fork:
      *out << "fork";
      return;
    case StartMethod::spawn:
      *out << "spawn";
      return;
    case StartMethod::forkserver:
      *out << "forkserver";
      return;
  }
  *out << "StartMethod " << static_cast<int>(method);
}
}  // namespace kata

namespace {

using namespace std::chrono_literals;
using kata::StartMethod;

// ---- the tasks, registered by name ----

// Changed by the tests at known moments, to show which moment's copy of the
// program a child runs in. A spawned child, a fresh image, sees this value.
constexpr std::int64_t initial_counter = 7;
std::int64_t counter = initial_counter;

// Held by another thread while a child is started.
std::mutex shared_mutex;

std::int64_t twice(std::int64_t x) {
  return 2 * x;
}
KATA_REGISTER_TASK(twice);

std::int64_t read_counter(std::int64_t) {
  return counter;
}
KATA_REGISTER_TASK(read_counter);

std::int64_t take_the_mutex(std::int64_t x) {
  const std::lock_guard lock(shared_mutex);
  return x;
}
KATA_REGISTER_TASK(take_the_mutex);

// How many fds this process holds besides 0, 1 and 2.
std::int64_t count_fds_above_stdio(std::int64_t) {
  DIR* dir = ::opendir("/proc/self/fd");
  if (dir == nullptr) {
    throw std::runtime_error("cannot open /proc/self/fd");
  }
  std::int64_t count = 0;
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name == "." || name == "..") {
      continue;
    }
    const int fd = std::stoi(name);
    if (fd > 2 && fd != ::dirfd(dir)) {
      ++count;
    }
  }
  ::closedir(dir);
  return count;
}
KATA_REGISTER_TASK(count_fds_above_stdio);

std::int64_t throw_an_error(std::int64_t) {
  throw std::runtime_error("the task failed on purpose");
}
KATA_REGISTER_TASK(throw_an_error);

std::int64_t exit_without_result(std::int64_t) {
  ::_exit(0);
}
KATA_REGISTER_TASK(exit_without_result);

std::int64_t die_of_a_signal(std::int64_t x) {
  ::raise(SIGTERM);
  return x;
}
KATA_REGISTER_TASK(die_of_a_signal);

std::int64_t sleep_forever(std::int64_t) {
  for (;;) {
    ::pause();
  }
}
KATA_REGISTER_TASK(sleep_forever);

// ---- a guard: a spawned child must never run the tests ----

// A spawned child inherits the environment. If spawn_entry_hook() returns in
// one, main() goes on to run this whole suite again, whose spawns run it again:
// a fork bomb. The first copy marks the environment; a copy that finds the mark
// stops before its first test.
constexpr const char* copy_mark = "KATA_07_TEST_RUNNING";
const bool is_spawned_copy = [] {
  const bool marked = std::getenv(copy_mark) != nullptr;  // NOLINT: before any thread
  ::setenv(copy_mark, "1", 1);
  return marked;
}();

class StopSpawnedCopies : public ::testing::Environment {
 public:
  void SetUp() override {
    if (is_spawned_copy) {
      std::fprintf(stderr,
                   "07_start_methods_test: a spawned child returned from spawn_entry_hook() "
                   "into main(); the hook must run the task and _exit().\n");
      ::_exit(3);
    }
  }
};
[[maybe_unused]] ::testing::Environment* const stop_spawned_copies =
    ::testing::AddGlobalTestEnvironment(new StopSpawnedCopies);

// ---- helpers ----

// What run_in_child() did, in one line: "42", or the kind of exception and its message.
std::string outcome_of(StartMethod method, const char* task, std::int64_t arg,
                       std::chrono::milliseconds deadline) {
  try {
    return std::to_string(kata::run_in_child(method, task, arg, deadline));
  } catch (const kata::WorkerError& error) {
    return std::string("WorkerError: ") + error.what();
  } catch (const kata::ChildTimeout& error) {
    return std::string("ChildTimeout: ") + error.what();
  } catch (const kata::NotImplemented& error) {
    return std::string("NotImplemented: ") + error.what();
  } catch (const std::invalid_argument& error) {
    return std::string("invalid_argument: ") + error.what();
  } catch (const std::logic_error& error) {
    return std::string("logic_error: ") + error.what();
  } catch (const std::exception& error) {
    return std::string("unexpected exception: ") + error.what();
  }
}

// Every process below this one: children, grandchildren, ... (from /proc).
std::vector<pid_t> descendants() {
  std::multimap<pid_t, pid_t> children_of;
  DIR* dir = ::opendir("/proc");
  if (dir == nullptr) {
    throw std::runtime_error("cannot open /proc");
  }
  while (const dirent* entry = ::readdir(dir)) {
    const std::string name = entry->d_name;
    if (name.find_first_not_of("0123456789") != std::string::npos) {
      continue;
    }
    std::ifstream stat("/proc/" + name + "/stat");
    std::string line;
    if (!std::getline(stat, line) || line.rfind(')') == std::string::npos) {
      continue;  // it ended while we looked
    }
    std::istringstream rest(line.substr(line.rfind(')') + 1));
    char state = '?';
    pid_t ppid = 0;
    if (rest >> state >> ppid) {
      children_of.emplace(ppid, static_cast<pid_t>(std::stol(name)));
    }
  }
  ::closedir(dir);
  std::vector<pid_t> found;
  std::vector<pid_t> parents{::getpid()};
  while (!parents.empty()) {
    const pid_t parent = parents.back();
    parents.pop_back();
    const auto [first, last] = children_of.equal_range(parent);
    for (auto it = first; it != last; ++it) {
      found.push_back(it->second);
      parents.push_back(it->second);
    }
  }
  return found;
}

// Runs `body` in a fresh copy of this test program, with the fork server running
// around it when `with_server`; returns what `body` returned, with a complaint
// appended if processes or fds were left behind, or what went wrong.
std::string in_fresh_process(bool with_server, const std::function<std::string()>& body) {
  const auto outcome = kata::testing::run_with_deadline(
      [&] {
        const std::set<int> fds_before = kata::testing::open_fds();
        if (with_server) {
          kata::start_forkserver();
        }
        std::string result = body();
        if (with_server) {
          kata::stop_forkserver();
        }
        if (const auto left = descendants(); !left.empty()) {
          result += " [left " + std::to_string(left.size()) + " process(es) behind]";
        }
        if (kata::testing::open_fds() != fds_before) {
          result += " [left fds open]";
        }
        return result;
      },
      20s);
  return outcome.ok() ? outcome.output : outcome.describe();
}

// Runs one task by one method in a fresh process.
std::string run_fresh(StartMethod method, const char* task, std::int64_t arg,
                      std::chrono::milliseconds deadline = 10s) {
  return in_fresh_process(method == StartMethod::forkserver,
                          [=] { return outcome_of(method, task, arg, deadline); });
}

bool starts_with(const std::string& text, const std::string& prefix) {
  return text.rfind(prefix, 0) == 0;
}

bool contains(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

// While alive, another thread holds shared_mutex.
class MutexHeldByAnotherThread {
 public:
  MutexHeldByAnotherThread() {
    std::promise<void> held;
    std::future<void> is_held = held.get_future();
    holder_ = std::thread([&held, this] {
      const std::lock_guard lock(shared_mutex);
      held.set_value();
      release_.get_future().wait();
    });
    is_held.wait();
  }
  ~MutexHeldByAnotherThread() {
    release_.set_value();
    holder_.join();
  }
  MutexHeldByAnotherThread(const MutexHeldByAnotherThread&) = delete;
  MutexHeldByAnotherThread& operator=(const MutexHeldByAnotherThread&) = delete;

 private:
  std::promise<void> release_;
  std::thread holder_;
};

// ---- what every method must do ----

class EveryMethod : public kata::testing::LeakCheckedTest,
                    public ::testing::WithParamInterface<StartMethod> {};

std::string method_name(const ::testing::TestParamInfo<StartMethod>& info) {
  return ::testing::PrintToString(info.param);
}

INSTANTIATE_TEST_SUITE_P(StartMethods, EveryMethod,
                         ::testing::Values(StartMethod::fork, StartMethod::spawn,
                                           StartMethod::forkserver),
                         method_name);

TEST_P(EveryMethod, ReturnsTheTasksResult) {
  const StartMethod method = GetParam();
  EXPECT_EQ(in_fresh_process(method == StartMethod::forkserver,
                             [=] {
                               return outcome_of(method, "twice", 21, 10s) + " " +
                                      outcome_of(method, "twice", -5'000'000'000, 10s);
                             }),
            "42 -10000000000");
}

TEST_P(EveryMethod, RejectsAnUnknownTaskNameBeforeStartingAnything) {
  const std::string outcome = run_fresh(GetParam(), "no_such_task", 1);
  EXPECT_TRUE(starts_with(outcome, "invalid_argument")) << outcome;
}

// The deadline given to run_in_child() (60 s) is far longer than the fresh
// process may live (20 s): waiting for the deadline instead of noticing the
// failure at once makes these tests fail.
TEST_P(EveryMethod, ReportsATaskThatThrowsAtOnceWithItsMessage) {
  const std::string outcome = run_fresh(GetParam(), "throw_an_error", 1, 60s);
  EXPECT_TRUE(starts_with(outcome, "WorkerError") && contains(outcome, "failed on purpose"))
      << outcome;
}

TEST_P(EveryMethod, ReportsAChildThatExitsWithoutAResultAtOnce) {
  const std::string outcome = run_fresh(GetParam(), "exit_without_result", 1, 60s);
  EXPECT_TRUE(starts_with(outcome, "WorkerError")) << outcome;
}

TEST_P(EveryMethod, ReportsAChildKilledByASignalAtOnceNamingTheSignal) {
  const std::string outcome = run_fresh(GetParam(), "die_of_a_signal", 1, 60s);
  EXPECT_TRUE(starts_with(outcome, "WorkerError") && contains(outcome, "SIGTERM")) << outcome;
}

TEST_P(EveryMethod, KillsAndReapsAChildThatMissesItsDeadline) {
  const StartMethod method = GetParam();
  const std::string outcome = in_fresh_process(method == StartMethod::forkserver, [=] {
    const std::string result = outcome_of(method, "sleep_forever", 1, 300ms);
    // Only the fork server may remain: the child itself must be dead and reaped.
    const std::size_t expected = method == StartMethod::forkserver ? 1 : 0;
    const std::size_t left = descendants().size();
    return left == expected ? result
                            : result + " [" + std::to_string(left - expected) +
                                  " child process(es) still there after the timeout]";
  });
  EXPECT_TRUE(starts_with(outcome, "ChildTimeout") && !contains(outcome, "[")) << outcome;
}

// ---- what each child sees ----

class StartMethodsTest : public kata::testing::LeakCheckedTest {};

TEST_F(StartMethodsTest, AForkChildSeesTheStateSetBeforeTheFork) {
  EXPECT_EQ(in_fresh_process(false,
                             [] {
                               counter = 2;
                               return outcome_of(StartMethod::fork, "read_counter", 0, 10s);
                             }),
            "2");
}

TEST_F(StartMethodsTest, ASpawnedChildSeesTheProgramsInitialState) {
  EXPECT_EQ(in_fresh_process(false,
                             [] {
                               counter = 2;
                               return outcome_of(StartMethod::spawn, "read_counter", 0, 10s);
                             }),
            std::to_string(initial_counter));
}

TEST_F(StartMethodsTest, AForkserverChildSeesTheStateAtServerStart) {
  EXPECT_EQ(in_fresh_process(false,
                             [] {
                               counter = 1;
                               kata::start_forkserver();
                               counter = 2;
                               std::string result =
                                   outcome_of(StartMethod::forkserver, "read_counter", 0, 10s);
                               kata::stop_forkserver();
                               return result;
                             }),
            "1");
}

TEST_F(StartMethodsTest, ASpawnedChildHoldsOnlyStdioAndItsResultChannel) {
  EXPECT_EQ(in_fresh_process(false,
                             [] {
                               // Without O_CLOEXEC: only closing it in the child stops it.
                               // Above 3, where a dup2() of the result channel would not
                               // happen to close it.
                               const int opened = ::open("/dev/null", O_RDONLY);
                               const int stray = ::fcntl(opened, F_DUPFD, 10);
                               ::close(opened);
                               std::string result =
                                   outcome_of(StartMethod::spawn, "count_fds_above_stdio", 0, 10s);
                               ::close(stray);
                               return result;
                             }),
            "1")
      << "A spawned child must hold fds 0, 1, 2 and its result channel, nothing else.";
}

TEST_F(StartMethodsTest, ASpawnedChildStartsWithNoSignalBlocked) {
  // An exec'd image keeps the caller's signal mask. A caller that blocks SIGTERM
  // (a server does, to take it through signalfd) would start children that SIGTERM
  // cannot stop: spawn must reset the mask (POSIX_SPAWN_SETSIGMASK).
  const std::string outcome = in_fresh_process(false, [] {
    sigset_t term;
    sigemptyset(&term);
    sigaddset(&term, SIGTERM);
    ::sigprocmask(SIG_BLOCK, &term, nullptr);
    std::string result = outcome_of(StartMethod::spawn, "die_of_a_signal", 1, 10s);
    ::sigprocmask(SIG_UNBLOCK, &term, nullptr);
    return result;
  });
  EXPECT_TRUE(starts_with(outcome, "WorkerError") && contains(outcome, "SIGTERM"))
      << "spawned by a caller that blocks SIGTERM, a task that raises SIGTERM must die of it "
         "(WorkerError naming SIGTERM): spawn must start the child with no signal blocked. Got: "
      << outcome;
}

TEST_F(StartMethodsTest, ASpawnedChildStartsWithDefaultSignalActions) {
  // exec resets a caught signal's handler, but an ignored signal stays ignored.
  // A caller that ignores SIGTERM (started under nohup, or ignoring it while it
  // shuts down) would start children that SIGTERM cannot stop: spawn must reset
  // every action to its default (POSIX_SPAWN_SETSIGDEF).
  const std::string outcome = in_fresh_process(false, [] {
    ::signal(SIGTERM, SIG_IGN);
    std::string result = outcome_of(StartMethod::spawn, "die_of_a_signal", 1, 10s);
    ::signal(SIGTERM, SIG_DFL);
    return result;
  });
  EXPECT_TRUE(starts_with(outcome, "WorkerError") && contains(outcome, "SIGTERM"))
      << "spawned by a caller that ignores SIGTERM, a task that raises SIGTERM must die of it "
         "(WorkerError naming SIGTERM): spawn must start the child with every signal's action "
         "at its default. Got: "
      << outcome;
}

TEST_F(StartMethodsTest, AForkChildInheritsEveryFd) {
  // The contrast: fork copies the fd table, stray fds included.
  EXPECT_EQ(in_fresh_process(false,
                             [] {
                               const int stray = ::open("/dev/null", O_RDONLY);
                               const std::string count =
                                   outcome_of(StartMethod::fork, "count_fds_above_stdio", 0, 10s);
                               ::close(stray);
                               return count.find_first_not_of("0123456789") == std::string::npos &&
                                              std::stoll(count) >= 2
                                          ? "inherited"
                                          : count;
                             }),
            "inherited");
}

// ---- the fork-with-threads hazard ----

TEST_F(StartMethodsTest, AForkChildDeadlocksOnAMutexAnotherThreadHeld) {
  const std::string outcome = in_fresh_process(false, [] {
    const MutexHeldByAnotherThread held;
    // The child is a copy of this thread only: the mutex is copied locked, and
    // the thread that would unlock it does not exist there.
    std::string result = outcome_of(StartMethod::fork, "take_the_mutex", 5, 500ms);
    if (!descendants().empty()) {
      result += " [the child is still there after the timeout]";
    }
    return result;
  });
  EXPECT_TRUE(starts_with(outcome, "ChildTimeout") && !contains(outcome, "[")) << outcome;
}

TEST_F(StartMethodsTest, AForkserverChildTakesAMutexAnotherThreadHolds) {
  EXPECT_EQ(in_fresh_process(true,
                             [] {
                               const MutexHeldByAnotherThread held;
                               return outcome_of(StartMethod::forkserver, "take_the_mutex", 5, 10s);
                             }),
            "5");
}

TEST_F(StartMethodsTest, ASpawnedChildTakesAMutexAnotherThreadHolds) {
  EXPECT_EQ(in_fresh_process(false,
                             [] {
                               const MutexHeldByAnotherThread held;
                               return outcome_of(StartMethod::spawn, "take_the_mutex", 5, 10s);
                             }),
            "5");
}

// ---- the fork server's life ----

TEST_F(StartMethodsTest, TheForkserverBeforeStartForkserverIsALogicError) {
  const std::string outcome =
      in_fresh_process(false, [] { return outcome_of(StartMethod::forkserver, "twice", 1, 10s); });
  EXPECT_TRUE(starts_with(outcome, "logic_error")) << outcome;
}

TEST_F(StartMethodsTest, StartingTheForkserverTwiceIsALogicError) {
  const std::string outcome = in_fresh_process(true, [] {
    try {
      kata::start_forkserver();
      return std::string("started a second server");
    } catch (const kata::NotImplemented& error) {
      return std::string("NotImplemented: ") + error.what();
    } catch (const std::logic_error&) {
      return std::string("logic_error");
    }
  });
  EXPECT_EQ(outcome, "logic_error");
}

TEST_F(StartMethodsTest, TheForkserverIsOneProcessThatStopForkserverEnds) {
  // in_fresh_process() checks that stop_forkserver() leaves no process or fd behind.
  EXPECT_EQ(in_fresh_process(
                true,
                [] {
                  const std::string result = outcome_of(StartMethod::forkserver, "twice", 4, 10s);
                  return result + " with " + std::to_string(descendants().size()) + " server";
                }),
            "8 with 1 server");
}

TEST_F(StartMethodsTest, TheForkserverServesTwoThreadsAtOnce) {
  // Requests share one socket: they must not interleave, nor their answers mix.
  EXPECT_EQ(in_fresh_process(true,
                             [] {
                               std::string results[2];
                               std::thread threads[2];
                               for (int t = 0; t < 2; ++t) {
                                 threads[t] = std::thread([t, &results] {
                                   for (int i = 1; i <= 5; ++i) {
                                     results[t] += outcome_of(StartMethod::forkserver, "twice",
                                                              100 * (t + 1) + i, 10s) +
                                                   " ";
                                   }
                                 });
                               }
                               for (std::thread& thread : threads) {
                                 thread.join();
                               }
                               return results[0] + "/ " + results[1];
                             }),
            "202 204 206 208 210 / 402 404 406 408 410 ");
}

TEST_F(StartMethodsTest, TheForkserverExitsWhenItsProgramDoes) {
  // A program that never calls stop_forkserver(): its server must go when it does.
  const std::string outcome = in_fresh_process(false, [] {
    kata::Pipe to_test = kata::make_pipe();
    kata::Pipe to_program = kata::make_pipe();
    kata::ChildProcess program = kata::fork_child([&] {
      kata::start_forkserver();
      const std::vector<pid_t> server = kata::testing::child_pids();
      const pid_t pid = server.size() == 1 ? server.front() : -1;
      kata::write_value(to_test.write_end.get(), pid);
      (void)kata::read_value<char>(to_program.read_end.get());  // until the test watches it
      return 0;                                                 // fork_child _exits
    });
    to_test.write_end.reset();  // or a program that dies before writing leaves us waiting
    const auto pid = kata::read_value<pid_t>(to_test.read_end.get());
    if (pid == -1) {
      return std::string("start_forkserver() did not start exactly one process");
    }
    const kata::UniqueFd server = kata::open_pidfd(pid);
    kata::write_value(to_program.write_end.get(), 'x');
    program.wait();
    return kata::wait_readable(server.get(), std::chrono::steady_clock::now() + 5s)
               ? std::string("server gone")
               : std::string("the server outlived its program");
  });
  EXPECT_EQ(outcome, "server gone");
}

// The hook's normal run needs no test of its own: main() calls it first in every
// test process, so a hook that did not return at once would fail them all.

}  // namespace

// This exercise's own main(), not common/'s: a spawned child of this program
// starts here too, and must run its task before anything else.
int main(int argc, char** argv) {
  kata::spawn_entry_hook(argc, argv);  // returns at once, except in a spawned child
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}
