// Tests of exercise 02: the process pool (order, every item once, work in the workers,
// full pipes, failures, replacement of dead workers, leaks) and tbb_map.
//
// Every test runs its pools inside run_with_deadline() with a deadline, so a pool that
// hangs or crashes fails its test instead of hanging the run.
#include "pool_map.hpp"

#include <kata/child.hpp>
#include <kata/cpus.hpp>
#include <kata/testing.hpp>

#include <fcntl.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <csignal>
#include <filesystem>
#include <fstream>
#include <functional>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using kata::ProcessPool;
using kata::WorkerError;

class PoolMapTest : public kata::testing::LeakCheckedTest {};

// ---- Tasks: plain functions, as a pool's tasks must be ------------------------------

std::int64_t square(std::int64_t x) {
  return x * x;
}

// Distinct items give distinct results, so a result in the wrong place shows.
std::int64_t tag(std::int64_t x) {
  return 3 * x + 1;
}

std::int64_t own_pid(std::int64_t /*x*/) {
  return ::getpid();
}

// Item 0 takes long, every other item is instant: the chunk holding item 0 comes
// back last, whatever the order the chunks were sent in.
std::int64_t slow_first_item(std::int64_t x) {
  if (x == 0) {
    std::this_thread::sleep_for(150ms);
  }
  return tag(x);
}

std::int64_t throw_on_42(std::int64_t x) {
  if (x == 42) {
    throw std::runtime_error("item 42 is cursed");
  }
  return x;
}

std::int64_t throw_int_on_42(std::int64_t x) {
  if (x == 42) {
    throw 42;  // not a std::exception
  }
  return x;
}

std::int64_t sigkill_on_13(std::int64_t x) {
  if (x == 13) {
    std::raise(SIGKILL);
  }
  return x;
}

// Item 0 fails at once while the other workers are still busy with theirs.
std::int64_t sigkill_on_0_others_slow(std::int64_t x) {
  if (x == 0) {
    std::raise(SIGKILL);
  }
  std::this_thread::sleep_for(20ms);
  return -x;
}

std::int64_t throw_on_0_others_slow(std::int64_t x) {
  if (x == 0) {
    throw std::runtime_error("item 0 failed");
  }
  std::this_thread::sleep_for(20ms);
  return -x;
}

// Leaves the worker alive but takes its task pipe's reader away: every pipe read end
// this process holds (a worker holds one: its task pipe) is replaced by the read end
// of a fresh pipe that nobody writes to. The worker then waits there forever, and the
// parent's next write into its task pipe finds no reader.
std::int64_t orphan_my_task_pipe(std::int64_t x) {
  for (int fd = 3; fd < 1024; ++fd) {
    const int flags = ::fcntl(fd, F_GETFL);
    struct stat info {};
    if (flags == -1 || ::fstat(fd, &info) == -1 || !S_ISFIFO(info.st_mode) ||
        (flags & O_ACCMODE) != O_RDONLY) {
      continue;
    }
    std::array<int, 2> fresh{};
    if (::pipe(fresh.data()) == -1 || ::dup2(fresh[0], fd) == -1) {
      throw std::runtime_error("orphan_my_task_pipe: pipe or dup2 failed");
    }
    ::close(fresh[0]);  // fresh[1] stays open: a read of fd blocks, it never sees end of file
  }
  return x;
}

// How many times each item ran, counted in a shared anonymous mapping that the
// test maps before it creates the pool, so every forked worker shares its pages.
int* g_calls = nullptr;

std::int64_t count_call(std::int64_t x) {
  std::atomic_ref<int>(g_calls[x]).fetch_add(1);
  return tag(x);
}

// ---- Helpers --------------------------------------------------------------------

std::vector<std::int64_t> items_up_to(std::size_t n, std::int64_t first = 0) {
  std::vector<std::int64_t> items(n);
  std::iota(items.begin(), items.end(), first);
  return items;
}

std::vector<std::int64_t> sequential(kata::Task task, const std::vector<std::int64_t>& items) {
  std::vector<std::int64_t> results;
  results.reserve(items.size());
  for (const std::int64_t item : items) {
    results.push_back(task(item));
  }
  return results;
}

// Throws (for run_with_deadline to report) at the first result that is not what a
// sequential loop gives.
void check_results(const std::vector<std::int64_t>& got, const std::vector<std::int64_t>& want,
                   const std::string& what) {
  if (got.size() != want.size()) {
    throw std::runtime_error(what + ": " + std::to_string(got.size()) + " results for " +
                             std::to_string(want.size()) + " items (items lost or duplicated)");
  }
  for (std::size_t i = 0; i < got.size(); ++i) {
    if (got[i] != want[i]) {
      throw std::runtime_error(what + ": results[" + std::to_string(i) + "] is " +
                               std::to_string(got[i]) + ", expected " + std::to_string(want[i]) +
                               " (wrong order, or the result of another item)");
    }
  }
}

void check_map(ProcessPool& pool, kata::Task task, const std::vector<std::int64_t>& items,
               std::size_t chunk, const std::string& what) {
  check_results(pool.map(task, items, chunk), sequential(task, items), what);
}

void check(bool condition, const std::string& failure) {
  if (!condition) {
    throw std::runtime_error(failure);
  }
}

// Runs `body` in a child with a deadline; the test passes when the body returns.
void run_checked(const std::function<void()>& body, std::chrono::milliseconds deadline = 20s) {
  const auto outcome = kata::testing::run_with_deadline(
      [&] {
        body();
        return std::string("ok");
      },
      deadline);
  EXPECT_EQ(outcome.describe(), "returned \"ok\"");
}

// The WorkerError's message of a map that must fail.
std::string map_error(ProcessPool& pool, kata::Task task, const std::vector<std::int64_t>& items,
                      std::size_t chunk = 0) {
  try {
    static_cast<void>(pool.map(task, items, chunk));
  } catch (const WorkerError& error) {
    return error.what();
  }
  throw std::runtime_error("map did not throw WorkerError");
}

std::string pids_text(const std::vector<pid_t>& pids) {
  std::string text;
  for (const pid_t pid : pids) {
    text += " " + std::to_string(pid);
  }
  return text;
}

std::set<pid_t> as_set(const std::vector<pid_t>& pids) {
  return {pids.begin(), pids.end()};
}

// The state letter of /proc/PID/stat ('Z' for a zombie), '?' if there is no such process.
char process_state(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  if (!std::getline(file, line) || line.rfind(')') == std::string::npos) {
    return '?';
  }
  return line[line.rfind(')') + 2];
}

// The pipes and sockets a process holds open, as /proc names them ("pipe:[1234]").
std::set<std::string> channels_of(pid_t pid) {
  std::set<std::string> channels;
  for (const auto& entry :
       std::filesystem::directory_iterator("/proc/" + std::to_string(pid) + "/fd")) {
    std::error_code error;
    const std::string target = std::filesystem::read_symlink(entry.path(), error).string();
    if (!error && (target.starts_with("pipe:") || target.starts_with("socket:"))) {
      channels.insert(target);
    }
  }
  return channels;
}

// The channels the workers of `pool` hold, beyond those this process had already.
std::set<std::string> channels_of_workers(const ProcessPool& pool,
                                          const std::set<std::string>& inherited) {
  std::set<std::string> channels;
  for (const pid_t pid : pool.worker_pids()) {
    for (const std::string& channel : channels_of(pid)) {
      if (!inherited.contains(channel)) {
        channels.insert(channel);
      }
    }
  }
  return channels;
}

// ---- Results, order, sizes ---------------------------------------------------------

TEST_F(PoolMapTest, MapSquaresTheNotebooksThousandInts) {
  run_checked([] {
    ProcessPool pool;
    check_map(pool, square, items_up_to(1000), 0, "map(square) of 1000 ints");
  });
}

TEST_F(PoolMapTest, MapKeepsTheOrderWhenLaterChunksFinishFirst) {
  run_checked([] {
    ProcessPool pool(3);
    const auto items = items_up_to(40);
    check_map(pool, slow_first_item, items, 1, "chunk 1, item 0 finishing last");
    check_map(pool, slow_first_item, items, 0, "automatic chunk, the first chunk finishing last");
  });
}

TEST_F(PoolMapTest, MapRunsEveryItemExactlyOnce) {
  run_checked([] {
    constexpr std::size_t n = 10'007;
    kata::testing::SharedArray<int> calls(n);
    g_calls = calls.data();
    ProcessPool pool(3);
    for (const std::size_t chunk : {std::size_t{0}, std::size_t{7}}) {
      std::fill(g_calls, g_calls + n, 0);
      const std::string what = "chunk " + std::to_string(chunk);
      const auto items = items_up_to(n);
      check_results(pool.map(count_call, items, chunk), sequential(tag, items), what);
      for (std::size_t i = 0; i < n; ++i) {
        check(g_calls[i] == 1, what + ": item " + std::to_string(i) + " ran " +
                                   std::to_string(g_calls[i]) + " times, not once");
      }
    }
  });
}

TEST_F(PoolMapTest, WorkersDoTheWorkNeverTheParent) {
  run_checked([] {
    ProcessPool pool(3);
    const std::set<pid_t> workers = as_set(pool.worker_pids());
    check(workers.size() == 3, "worker_pids() of a 3-worker pool:" + pids_text(pool.worker_pids()));
    check(!workers.contains(::getpid()), "the parent is listed as a worker");
    const auto children = kata::testing::child_pids();
    for (const pid_t pid : workers) {
      check(std::find(children.begin(), children.end(), pid) != children.end(),
            "worker " + std::to_string(pid) + " is not a child of the pool's process");
    }
    for (const std::size_t chunk : {std::size_t{1}, std::size_t{0}}) {
      for (const std::int64_t pid : pool.map(own_pid, items_up_to(500), chunk)) {
        check(pid != ::getpid(), "an item ran in the parent, not in a worker");
        check(workers.contains(static_cast<pid_t>(pid)),
              "an item ran in process " + std::to_string(pid) + ", which is not a worker");
      }
    }
  });
}

TEST_F(PoolMapTest, AMillionItemsDoNotDeadlockOnFullPipes) {
  // 8 MB each way, far more than a pipe holds (64 KiB): a parent that writes all
  // the chunks before it reads any result waits forever on a worker that waits on it.
  run_checked(
      [] {
        ProcessPool pool(2);
        const auto items = items_up_to(1'000'000);
        const auto want = sequential(square, items);
        check_results(pool.map(square, items), want, "1e6 items, automatic chunk");
        check_results(pool.map(square, items, items.size()), want, "1e6 items in one chunk");
      },
      30s);
}

TEST_F(PoolMapTest, EmptyOneAndFewerItemsThanWorkers) {
  run_checked([] {
    ProcessPool pool(4);
    for (const std::size_t n : {0, 1, 2, 3}) {
      check_map(pool, tag, items_up_to(n, 100), 0, std::to_string(n) + " items, 4 workers");
      check_map(pool, tag, items_up_to(n, 100), 1, std::to_string(n) + " items, chunk 1");
    }
  });
}

TEST_F(PoolMapTest, OddChunkSizes) {
  run_checked([] {
    ProcessPool pool(3);
    for (const std::size_t n : {5, 7, 100, 1001}) {
      for (const std::size_t chunk : {std::size_t{1}, std::size_t{2}, std::size_t{3},
                                      std::size_t{7}, n - 1, n, n + 5, std::size_t{1} << 40}) {
        check_map(pool, tag, items_up_to(n, -50), chunk,
                  std::to_string(n) + " items, chunk " + std::to_string(chunk));
      }
    }
  });
}

TEST_F(PoolMapTest, NullTaskIsInvalidArgument) {
  run_checked([] {
    ProcessPool pool(2);
    try {
      static_cast<void>(pool.map(nullptr, items_up_to(10)));
    } catch (const std::invalid_argument&) {
      check_map(pool, tag, items_up_to(10), 0, "the map after a null task");
      return;
    }
    throw std::runtime_error("map(nullptr, ...) did not throw std::invalid_argument");
  });
}

// ---- Workers: size, reuse, leaks ---------------------------------------------------

TEST_F(PoolMapTest, DefaultSizeIsTheDefaultWorkerCount) {
  run_checked([] {
    const ProcessPool pool;
    const unsigned want = kata::default_worker_count();
    check(pool.size() == want, "ProcessPool() has " + std::to_string(pool.size()) +
                                   " workers, kata::default_worker_count() is " +
                                   std::to_string(want));
    check(as_set(pool.worker_pids()).size() == want,
          "worker_pids() lists" + pids_text(pool.worker_pids()));
    const ProcessPool five(5);
    check(five.size() == 5 && as_set(five.worker_pids()).size() == 5,
          "ProcessPool(5) has " + std::to_string(five.size()) + " workers");
  });
}

TEST_F(PoolMapTest, RepeatedMapsReuseTheSameWorkers) {
  run_checked([] {
    ProcessPool pool(3);
    const auto before = pool.worker_pids();
    for (int round = 0; round < 5; ++round) {
      for (const std::int64_t pid : pool.map(own_pid, items_up_to(300), 1)) {
        check(as_set(before).contains(static_cast<pid_t>(pid)),
              "map " + std::to_string(round) + " ran an item in process " + std::to_string(pid) +
                  ", not in one of the pool's first workers:" + pids_text(before));
      }
    }
    check(pool.worker_pids() == before, "the workers changed from" + pids_text(before) + " to" +
                                            pids_text(pool.worker_pids()) +
                                            ": a pool forks its workers once");
  });
}

TEST_F(PoolMapTest, APoolLeavesNoChildAndNoFdBehind) {
  run_checked([] {
    const std::set<int> fds_before = kata::testing::open_fds();
    std::vector<pid_t> workers;
    {
      ProcessPool pool(3);
      workers = pool.worker_pids();
      check_map(pool, square, items_up_to(1000), 0, "map");
    }
    const auto children = kata::testing::child_pids();
    check(children.empty(), "after the pool died, children remain (zombies?):" +
                                pids_text(children) + "; the workers were" + pids_text(workers));
    check(kata::testing::open_fds() == fds_before, "after the pool died, fds remain open");
  });
}

// ---- Failures ------------------------------------------------------------------------

TEST_F(PoolMapTest, ATaskExceptionReachesTheParentAndThePoolGoesOn) {
  run_checked([] {
    ProcessPool pool(3);
    const std::string message = map_error(pool, throw_on_42, items_up_to(100));
    check(message.find("item 42 is cursed") != std::string::npos,
          "the WorkerError does not carry the task's message: \"" + message + "\"");
    check_map(pool, square, items_up_to(1000), 0, "the map after a task threw");
    check(pool.worker_pids().size() == 3, "the pool lost workers");
  });
}

TEST_F(PoolMapTest, ATaskThrowingANonStdExceptionIsAWorkerErrorToo) {
  run_checked([] {
    ProcessPool pool(2);
    static_cast<void>(map_error(pool, throw_int_on_42, items_up_to(100), 3));
    check_map(pool, square, items_up_to(100), 0, "the map after a task threw 42");
  });
}

TEST_F(PoolMapTest, AWorkerKilledBySignalMakesMapThrowNamingItThenIsReplaced) {
  // Python's Pool.map hangs forever here (bpo-22393): the deadline catches that.
  run_checked(
      [] {
        ProcessPool pool(3);
        const auto before = pool.worker_pids();
        const std::string message = map_error(pool, sigkill_on_13, items_up_to(100), 1);
        check(message.find("SIGKILL") != std::string::npos,
              "the WorkerError does not name the signal: \"" + message + "\"");

        for (const pid_t pid : kata::testing::child_pids()) {
          check(process_state(pid) != 'Z', "process " + std::to_string(pid) +
                                               " is a zombie: reap a dead worker with waitpid()");
        }
        check_map(pool, square, items_up_to(1000), 0, "the map after a worker died");

        const auto after = pool.worker_pids();
        const std::set<pid_t> old_set = as_set(before);
        const auto replacements =
            std::ranges::count_if(after, [&](pid_t pid) { return !old_set.contains(pid); });
        check(after.size() == 3 && replacements == 1,
              "worker_pids() went from" + pids_text(before) + " to" + pids_text(after) +
                  ": expected the dead worker, and only it, replaced");
        const auto children = kata::testing::child_pids();
        check(as_set(children) == as_set(after),
              "the children" + pids_text(children) + " are not the workers" + pids_text(after));
      },
      20s);
}

TEST_F(PoolMapTest, AFailedMapLeavesNoStaleResultsForTheNextMap) {
  // When item 0 fails, the other workers are still busy with their own items. Their
  // results belong to the failed map; the next map must not take them for its own.
  run_checked([] {
    ProcessPool pool(4);
    for (const kata::Task failing : {throw_on_0_others_slow, sigkill_on_0_others_slow}) {
      static_cast<void>(map_error(pool, failing, items_up_to(40), 1));
      check_map(pool, tag, items_up_to(40, 1000), 1, "the map right after a failed map");
    }
  });
}

TEST_F(PoolMapTest, WritingToDeadWorkersDoesNotKillTheParentWithSigpipe) {
  // Every worker is killed behind the pool's back. A map that writes to them writes
  // into pipes with no reader: the parent must get EPIPE, not die of SIGPIPE. (Finding
  // the dead workers and replacing them before writing is right too.)
  run_checked([] {
    ProcessPool pool(2);
    check_map(pool, square, items_up_to(1000), 0, "the first map");
    for (const pid_t pid : pool.worker_pids()) {
      ::kill(pid, SIGKILL);
    }
    for (const pid_t pid : pool.worker_pids()) {
      for (int i = 0; i < 5000 && process_state(pid) != 'Z'; ++i) {
        std::this_thread::sleep_for(1ms);
      }
    }
    try {
      check_map(pool, square, items_up_to(100'000), 0, "the map after the workers died");
    } catch (const WorkerError&) {
      // Reporting the dead workers is fine too, once; the next map must work.
      check_map(pool, square, items_up_to(1000), 0, "the map after the one that reported them");
    }
  });
}

TEST_F(PoolMapTest, AWorkerWhoseTaskPipeLostItsReaderIsAWorkerErrorNeverASigpipe) {
  // The worker is alive (so the pool cannot know it is lost before it writes), but its
  // task pipe has no reader: the next write into it raises SIGPIPE, whose default
  // action kills the writer.
  const auto outcome = kata::testing::run_with_deadline(
      [] {
        ProcessPool pool(1);
        // Not check_map(): its sequential map would run the task here, in the parent.
        check_results(pool.map(orphan_my_task_pipe, items_up_to(1, 5), 1), {5}, "the first map");
        static_cast<void>(map_error(pool, square, items_up_to(1000), 1));
        check_map(pool, square, items_up_to(1000), 0, "the map after the WorkerError");
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), "returned \"ok\"")
      << "A write into a pipe with no reader must fail with EPIPE, not kill the parent with "
         "SIGPIPE: block SIGPIPE while map writes (kata::SigpipeGuard). The map that meets "
         "EPIPE reports the worker's loss as WorkerError and replaces it; the next map works.";
}

TEST_F(PoolMapTest, WorkersLeaveByThemselvesWhenTheirTaskPipesClose) {
  // End of file on its task pipe is a worker's signal to leave, with status 0: closing
  // the task pipes is what the destructor does first, and its SIGKILL is only for a
  // worker that does not go. A worker holding a copy of a task pipe's write end (its
  // own, or another worker's, inherited at fork) never sees end of file. To see how
  // the workers end, a process that owns a pool dies without its destructor (the
  // kernel closes its fds, as the destructor would) and this one, a subreaper, adopts
  // the workers and reaps them.
  const auto outcome = kata::testing::run_with_deadline(
      [] {
        if (::prctl(PR_SET_CHILD_SUBREAPER, 1) == -1) {
          throw std::runtime_error("prctl(PR_SET_CHILD_SUBREAPER) failed");
        }
        kata::testing::SharedArray<pid_t> workers(3);
        kata::ChildProcess owner = kata::fork_child([&]() -> int {
          ProcessPool pool(3);
          check_map(pool, square, items_up_to(1000), 0, "the owner's map");
          const auto pids = pool.worker_pids();
          std::copy_n(pids.begin(), std::min<std::size_t>(pids.size(), 3), workers.data());
          ::_exit(0);  // no destructor: the kernel closes the pool's ends of the pipes
        });
        if (const kata::ExitStatus status = owner.wait(); !status.success()) {
          throw std::runtime_error("the process that owned the pool " + status.describe());
        }
        // The workers are this process's children now: 10 s for them all to leave.
        const auto deadline = std::chrono::steady_clock::now() + 10s;
        std::string failures;
        for (std::size_t i = 0; i < 3; ++i) {
          const pid_t pid = workers[i];
          if (pid <= 0) {
            failures += " worker_pids() of a pool of 3 listed fewer than 3 workers;";
            continue;
          }
          int status = 0;
          pid_t reaped = ::waitpid(pid, &status, WNOHANG);
          while (reaped == 0 && std::chrono::steady_clock::now() < deadline) {
            std::this_thread::sleep_for(10ms);
            reaped = ::waitpid(pid, &status, WNOHANG);
          }
          if (reaped == 0) {
            ::kill(pid, SIGKILL);
            ::waitpid(pid, nullptr, 0);
            failures += " worker " + std::to_string(pid) +
                        " was still running 10 s after its task pipe closed (it never saw end "
                        "of file: something holds a copy of the pipe's write end);";
          } else if (reaped == pid && !kata::ExitStatus(status).success()) {
            failures += " worker " + std::to_string(pid) + " " +
                        kata::ExitStatus(status).describe() + " instead of leaving with 0;";
          } else if (reaped != pid) {
            failures += " worker " + std::to_string(pid) +
                        " was not adopted by this process: is it a child of the pool's owner?";
          }
        }
        return failures.empty() ? std::string("ok") : failures;
      },
      30s);
  EXPECT_EQ(outcome.describe(), "returned \"ok\"")
      << "Each worker must leave by itself, with status 0, as soon as its task pipe reaches end "
         "of file. After fork, a worker closes every fd but 0, 1, 2 and its own two pipe ends "
         "(close_range): a copy of a task pipe's write end, its own included, keeps that end "
         "of file from ever coming.";
}

// ---- Two pools -------------------------------------------------------------------------

TEST_F(PoolMapTest, TwoPoolsDieInTheOrderTheyWereMade) {
  run_checked([] {
    std::optional<ProcessPool> first(std::in_place, 2);
    std::optional<ProcessPool> second(std::in_place, 2);
    check_map(*first, square, items_up_to(100), 0, "first pool");
    check_map(*second, tag, items_up_to(100), 0, "second pool");
    first.reset();
    check_map(*second, tag, items_up_to(100), 0, "second pool, after the first died");
    second.reset();
    check(kata::testing::child_pids().empty(), "children remain after both pools died");
  });
}

TEST_F(PoolMapTest, TwoPoolsDieInTheReverseOrder) {
  run_checked([] {
    std::optional<ProcessPool> first(std::in_place, 2);
    std::optional<ProcessPool> second(std::in_place, 2);
    check_map(*second, tag, items_up_to(100), 0, "second pool");
    second.reset();
    check_map(*first, square, items_up_to(100), 0, "first pool, after the second died");
    first.reset();
    check(kata::testing::child_pids().empty(), "children remain after both pools died");
  });
}

TEST_F(PoolMapTest, NoWorkerHoldsThePipesOfAnotherPool) {
  // A worker forked for pool B inherits the fds of pool A. Unless it closes them, A's
  // workers never see end of file on their task pipes while B lives. The same holds
  // for a replacement worker of A, forked after B.
  run_checked([] {
    const std::set<std::string> inherited = channels_of(::getpid());
    ProcessPool first(2);
    ProcessPool second(2);
    static_cast<void>(map_error(first, sigkill_on_13, items_up_to(100), 1));  // a new worker
    std::set<std::string> shared;
    // A worker closes what it does not need right after fork(): give it a moment.
    for (int attempt = 0; attempt < 200; ++attempt) {
      const auto of_first = channels_of_workers(first, inherited);
      const auto of_second = channels_of_workers(second, inherited);
      shared.clear();
      std::ranges::set_intersection(of_first, of_second, std::inserter(shared, shared.end()));
      if (shared.empty()) {
        return;
      }
      std::this_thread::sleep_for(10ms);
    }
    std::string list;
    for (const std::string& channel : shared) {
      list += " " + channel;
    }
    throw std::runtime_error("workers of both pools hold" + list +
                             ": a worker must close the pipes it does not use");
  });
}

// ---- tbb_map ---------------------------------------------------------------------------
// In a child, so that this process never starts oneTBB's threads and forks safely.

TEST_F(PoolMapTest, TbbMapGivesTheResultsInOrder) {
  run_checked([] {
    for (const std::size_t n : {0, 1, 1000, 100'000}) {
      const auto items = items_up_to(n, -7);
      check_results(kata::tbb_map(tag, items), sequential(tag, items),
                    "tbb_map of " + std::to_string(n) + " items");
    }
  });
}

TEST_F(PoolMapTest, TbbMapPassesTheTasksExceptionOn) {
  run_checked([] {
    try {
      static_cast<void>(kata::tbb_map(throw_on_42, items_up_to(1000)));
    } catch (const std::runtime_error& error) {
      check(std::string(error.what()).find("item 42 is cursed") != std::string::npos,
            std::string("tbb_map threw \"") + error.what() + "\"");
      return;
    }
    throw std::runtime_error("tbb_map did not throw");
  });
}

}  // namespace
