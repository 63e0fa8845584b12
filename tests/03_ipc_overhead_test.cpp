// Tests of exercise 03: the measurements (round trip, bandwidth, process start),
// Python's chunking heuristic, and shm_map.
//
// Every measurement runs inside run_with_deadline(), so a hang fails within a deadline,
// and checks there that it really forked, reaped its children and closed its fds.
// The tests count forks with a pthread_atfork() handler: the measurements must use fork().
#include "ipc_overhead.hpp"

#include <kata/cpus.hpp>
#include <kata/errors.hpp>
#include <kata/shared_memory.hpp>
#include <kata/testing.hpp>

#include <fcntl.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cmath>
#include <csignal>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <functional>
#include <limits>
#include <map>
#include <set>
#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

using namespace std::chrono_literals;
using kata::testing::run_with_deadline;

// ---------------------------------------------------------------------------
// Watching forks from the inside.

// Lives in a shared anonymous mapping, so that forked children can count themselves.
struct ForkProbe {
  std::atomic<int> children{0};
};

ForkProbe* probe = nullptr;
bool corrupt_new_pipes = false;     // set around one call under test
std::set<int> fds_before_the_call;  // the fds the function under test did not make

// Runs in the parent right after each fork, while the new pipes are still empty:
// writes a 64-byte stray message into every pipe or socket that the function
// under test made and that the parent can still write to (at this point, both
// directions: it has not yet closed the child's ends). The stray bytes then come
// out of the other end before the real data: a corrupted echo, a wrong count.
// Exactly one 64-byte message, so that a 64-byte echo child still ends cleanly
// and only the parent's check can notice.
void inject_a_stray_message() {
  std::array<unsigned char, 64> stray{};
  for (std::size_t i = 0; i < stray.size(); ++i) {
    stray[i] = static_cast<unsigned char>(0xa5 ^ i);
  }
  for (int fd = 0; fd < 1024; ++fd) {
    if (fds_before_the_call.contains(fd)) {
      continue;
    }
    const int flags = fcntl(fd, F_GETFL);
    struct stat info {};
    if (flags == -1 || fstat(fd, &info) == -1) {
      continue;
    }
    const bool writable = (flags & O_ACCMODE) != O_RDONLY;
    if (writable && (S_ISFIFO(info.st_mode) || S_ISSOCK(info.st_mode))) {
      (void)!write(fd, stray.data(), stray.size());
    }
  }
}

void on_fork_in_parent() {
  if (corrupt_new_pipes) {
    inject_a_stray_message();
  }
}

void on_fork_in_child() {
  probe->children.fetch_add(1);
}

// Call once at the start of a run_with_deadline() body (never in the test process:
// pthread_atfork handlers cannot be removed).
void install_fork_probe() {
  static kata::Shared<ForkProbe> shared;  // for the life of this (throwaway) process
  probe = shared.get();
  if (pthread_atfork(nullptr, on_fork_in_parent, on_fork_in_child) != 0) {
    throw std::runtime_error("pthread_atfork failed");
  }
}

// Shared mappings (an 's' in the permissions column of /proc/self/maps): what
// shm_map makes and must unmap.
int shared_mappings() {
  std::ifstream maps("/proc/self/maps");
  int count = 0;
  std::string line;
  while (std::getline(maps, line)) {
    std::istringstream fields(line);
    std::string range;
    std::string perms;
    fields >> range >> perms;
    count += perms.size() == 4 && perms[3] == 's' ? 1 : 0;
  }
  return count;
}

// What a process looks like before a call, to compare with after it.
struct Snapshot {
  std::set<int> fds = kata::testing::open_fds();
  int maps = shared_mappings();
  int forks = probe != nullptr ? probe->children.load() : 0;
};

// "" if nothing leaked since `before`; else what did.
std::string leaks_since(const Snapshot& before) {
  std::string leaks;
  const auto children = kata::testing::child_pids();
  if (!children.empty()) {
    leaks += " " + std::to_string(children.size()) +
             " child process(es) not reaped (zombies: waitpid() every child);";
  }
  const auto fds = kata::testing::open_fds();
  if (fds.size() > before.fds.size()) {
    leaks += " " + std::to_string(fds.size() - before.fds.size()) + " fd(s) left open;";
  }
  if (const int maps = shared_mappings(); maps != before.maps) {
    leaks += " shared mappings went from " + std::to_string(before.maps) + " to " +
             std::to_string(maps) + " (munmap what you mmap);";
  }
  return leaks;
}

// Runs `call` in a child with a deadline; "ok" when it returned a value in [low, high]
// after forking at least `min_forks` children, and left no child, fd or mapping behind.
std::string measure(const std::function<double()>& call, int min_forks, double low, double high,
                    std::chrono::milliseconds deadline = 10s) {
  return run_with_deadline(
             [&] {
               install_fork_probe();
               const Snapshot before;
               const double value = call();
               const int forks = probe->children.load() - before.forks;
               if (forks < min_forks) {
                 return "forked " + std::to_string(forks) + " child(ren), expected at least " +
                        std::to_string(min_forks) + ": measure a real child process";
               }
               if (!std::isfinite(value) || value < low || value > high) {
                 return "returned " + std::to_string(value) + ", not a plausible value in [" +
                        std::to_string(low) + ", " + std::to_string(high) + "]";
               }
               const std::string leaks = leaks_since(before);
               return leaks.empty() ? std::string("ok") : "leaked:" + leaks;
             },
             deadline)
      .describe();
}

const std::string ok = "returned \"ok\"";

// What `call` throws, run in a child with a deadline: "invalid_argument",
// "runtime_error: ...", "WorkerError: ...", "returned", or another exception's text.
std::string what_throws(const std::function<void()>& call, bool corrupt = false,
                        std::chrono::milliseconds deadline = 10s) {
  return run_with_deadline(
             [&] {
               install_fork_probe();
               const Snapshot before;
               fds_before_the_call = before.fds;
               corrupt_new_pipes = corrupt;
               std::string outcome;
               try {
                 call();
                 outcome = "returned";
               } catch (const std::invalid_argument&) {
                 outcome = "invalid_argument";
               } catch (const kata::WorkerError& error) {
                 outcome = std::string("WorkerError: ") + error.what();
               } catch (const std::runtime_error& error) {
                 outcome = std::string("runtime_error: ") + error.what();
               } catch (const std::exception& error) {
                 outcome = std::string("another exception: ") + error.what();
               }
               corrupt_new_pipes = false;
               const std::string leaks = leaks_since(before);
               return leaks.empty() ? outcome : outcome + "; and leaked:" + leaks;
             },
             deadline)
      .describe();
}

std::string quoted(const std::string& text) {
  return "returned \"" + text + "\"";
}

class IpcOverheadTest : public kata::testing::LeakCheckedTest {};

// ---------------------------------------------------------------------------
// pipe_round_trip_ns

constexpr double kMaxNs = 1e10;  // 10 s for one round trip or one fork: something is broken

TEST_F(IpcOverheadTest, RoundTripForksAnEchoChildAndReapsIt) {
  EXPECT_EQ(measure([] { return kata::pipe_round_trip_ns(8, 200); }, 1, 100, kMaxNs), ok);
}

TEST_F(IpcOverheadTest, RoundTripOfOneByteWorks) {
  EXPECT_EQ(measure([] { return kata::pipe_round_trip_ns(1, 100); }, 1, 100, kMaxNs), ok);
}

TEST_F(IpcOverheadTest, RoundTripOf64KiBWorks) {
  EXPECT_EQ(measure([] { return kata::pipe_round_trip_ns(64 * 1024, 20); }, 1, 100, kMaxNs), ok);
}

TEST_F(IpcOverheadTest, RoundTripOfAMessageLargerThanBothPipeBuffersDoesNotDeadlock) {
  // 1 MiB: an echo that starts writing back before it has read the whole message
  // fills the return pipe while the parent is still blocked writing.
  EXPECT_EQ(measure([] { return kata::pipe_round_trip_ns(1 << 20, 3); }, 1, 100, kMaxNs, 20s), ok);
}

TEST_F(IpcOverheadTest, RoundTripChecksEveryEcho) {
  // A stray 64-byte message is written into the new pipes right after the fork, so
  // the first echo cannot match what was sent: a parent that checks notices and throws.
  const std::string outcome =
      what_throws([] { (void)kata::pipe_round_trip_ns(64, 50); }, /*corrupt=*/true);
  EXPECT_TRUE(outcome.starts_with("returned \"runtime_error: ") ||
              outcome.starts_with("returned \"WorkerError: "))
      << "the echo was corrupted, yet pipe_round_trip_ns " << outcome
      << "\nCompare every echo with the message sent; throw std::runtime_error if it differs.";
  EXPECT_EQ(outcome.find("leaked"), std::string::npos) << outcome;
}

TEST_F(IpcOverheadTest, RoundTripRejectsEmptyMessagesAndNoIterations) {
  EXPECT_EQ(what_throws([] { (void)kata::pipe_round_trip_ns(0, 10); }), quoted("invalid_argument"));
  EXPECT_EQ(what_throws([] { (void)kata::pipe_round_trip_ns(-1, 10); }),
            quoted("invalid_argument"));
  EXPECT_EQ(what_throws([] { (void)kata::pipe_round_trip_ns(8, 0); }), quoted("invalid_argument"));
  EXPECT_EQ(what_throws([] { (void)kata::pipe_round_trip_ns(8, -5); }), quoted("invalid_argument"));
}

// ---------------------------------------------------------------------------
// pipe_bandwidth

constexpr double kMaxBandwidth = 1e12;  // 1 TB/s through a pipe is not a measurement

TEST_F(IpcOverheadTest, BandwidthForksACountingChildAndReapsIt) {
  EXPECT_EQ(measure([] { return kata::pipe_bandwidth(4 << 20, 64 << 10); }, 1, 1, kMaxBandwidth),
            ok);
}

TEST_F(IpcOverheadTest, BandwidthWithSmallBlocksWorks) {
  EXPECT_EQ(measure([] { return kata::pipe_bandwidth(1 << 20, 4096); }, 1, 1, kMaxBandwidth), ok);
}

TEST_F(IpcOverheadTest, BandwidthSendsAShortLastBlock) {
  // 1,000,003 is no multiple of 4096: the last write is 571 bytes, and the child's
  // count (which the parent checks) must still be 1,000,003.
  EXPECT_EQ(measure([] { return kata::pipe_bandwidth(1'000'003, 4096); }, 1, 1, kMaxBandwidth), ok);
}

TEST_F(IpcOverheadTest, BandwidthWithOneBlockOfEverything) {
  EXPECT_EQ(measure([] { return kata::pipe_bandwidth(200'000, 200'000); }, 1, 1, kMaxBandwidth),
            ok);
}

TEST_F(IpcOverheadTest, BandwidthChecksTheChildsCount) {
  // A stray 64-byte message injected into the new pipes right after the fork makes
  // the child's count (and its report) wrong: a parent that checks notices and throws.
  const std::string outcome =
      what_throws([] { (void)kata::pipe_bandwidth(1 << 20, 4096); }, /*corrupt=*/true);
  EXPECT_TRUE(outcome.starts_with("returned \"runtime_error: ") ||
              outcome.starts_with("returned \"WorkerError: "))
      << "the child's count was wrong, yet pipe_bandwidth " << outcome
      << "\nHave the child send back how many bytes it read, and compare.";
  EXPECT_EQ(outcome.find("leaked"), std::string::npos) << outcome;
}

TEST_F(IpcOverheadTest, BandwidthRejectsBadSizes) {
  struct Sizes {
    std::int64_t total;
    std::int64_t block;
  };
  for (const Sizes bad : std::vector<Sizes>{{0, 1}, {-1, 1}, {10, 0}, {10, -1}, {10, 11}}) {
    EXPECT_EQ(what_throws([bad] { (void)kata::pipe_bandwidth(bad.total, bad.block); }),
              quoted("invalid_argument"))
        << "pipe_bandwidth(" << bad.total << ", " << bad.block << ")";
  }
}

// ---------------------------------------------------------------------------
// process_start_ns

TEST_F(IpcOverheadTest, ProcessStartForksEveryIterationAndReapsEveryChild) {
  // A fork copies page tables and a process descriptor: never under a microsecond.
  EXPECT_EQ(measure([] { return kata::process_start_ns(20); }, 20, 1000, kMaxNs), ok);
}

TEST_F(IpcOverheadTest, ProcessStartRejectsNoIterations) {
  EXPECT_EQ(what_throws([] { (void)kata::process_start_ns(0); }), quoted("invalid_argument"));
  EXPECT_EQ(what_throws([] { (void)kata::process_start_ns(-3); }), quoted("invalid_argument"));
}

// ---------------------------------------------------------------------------
// auto_chunk: ceil(items / (4 * workers)), at least 1

TEST(AutoChunk, NoItemsIsAChunkOfOne) {
  EXPECT_EQ(kata::auto_chunk(0, 1), 1U);
  EXPECT_EQ(kata::auto_chunk(0, 8), 1U);
}

TEST(AutoChunk, IsTheCeilingOfItemsOverFourTimesWorkers) {
  struct Case {
    std::size_t items;
    unsigned workers;
    std::size_t chunk;
  };
  for (const Case c : std::vector<Case>{{1, 1, 1},
                                        {1, 8, 1},
                                        {3, 1, 1},
                                        {4, 1, 1},  // exactly 4 * workers
                                        {5, 1, 2},  // 4 * workers + 1
                                        {31, 8, 1},
                                        {32, 8, 1},
                                        {33, 8, 2},
                                        {64, 8, 2},
                                        {65, 8, 3},
                                        {1000, 2, 125},
                                        {1001, 2, 126},
                                        {1000, 8, 32},
                                        {1'000'000, 8, 31'250},
                                        {1'000'001, 8, 31'251}}) {
    EXPECT_EQ(kata::auto_chunk(c.items, c.workers), c.chunk)
        << "auto_chunk(" << c.items << ", " << c.workers << ")";
  }
}

TEST(AutoChunk, HugeCountsDoNotOverflow) {
  constexpr std::size_t most = std::numeric_limits<std::size_t>::max();
  constexpr unsigned many = std::numeric_limits<unsigned>::max();
  // items + 4 * workers - 1 would wrap around here: use division and remainder.
  EXPECT_EQ(kata::auto_chunk(most, 1), most / 4 + 1);
  EXPECT_EQ(kata::auto_chunk(10, many), 1U);
  EXPECT_EQ(kata::auto_chunk(most, many), most / (std::size_t{4} * many) + 1);
}

TEST(AutoChunk, ZeroWorkersIsInvalid) {
  EXPECT_THROW((void)kata::auto_chunk(100, 0), std::invalid_argument);
}

// ---------------------------------------------------------------------------
// shm_map

std::int64_t mix(std::int64_t x) {
  return x * x - 3 * x + 1;
}

std::int64_t own_pid(std::int64_t) {
  return getpid();
}

std::int64_t count_shared_mappings(std::int64_t) {
  return shared_mappings();
}

std::int64_t throws_on_13(std::int64_t x) {
  if (x == 13) {
    throw std::runtime_error("item 13 is unlucky");
  }
  return x;
}

std::int64_t throws_an_int_on_13(std::int64_t x) {
  if (x == 13) {
    throw 13;
  }
  return x;
}

std::int64_t killed_on_13(std::int64_t x) {
  if (x == 13) {
    raise(SIGKILL);
  }
  return x;
}

std::int64_t exits_on_13(std::int64_t x) {
  if (x == 13) {
    _exit(0);  // the worker's status says "success", but its range is unfinished
  }
  return x;
}

std::vector<std::int64_t> sample(std::size_t n) {
  std::vector<std::int64_t> items(n);
  for (std::size_t i = 0; i < n; ++i) {
    items[i] = static_cast<std::int64_t>(i) * 7 - 50;
  }
  return items;
}

// shm_map(task, items, workers) compared with a sequential map, in a child, with
// leak checks; "ok" or what went wrong.
std::string check_shm_map(kata::Task task, std::size_t n, unsigned workers,
                          std::chrono::milliseconds deadline = 10s) {
  return run_with_deadline(
             [&] {
               const auto items = sample(n);
               const Snapshot before;
               const auto results = kata::shm_map(task, items, workers);
               if (results.size() != n) {
                 return "returned " + std::to_string(results.size()) + " results for " +
                        std::to_string(n) + " items";
               }
               for (std::size_t i = 0; i < n; ++i) {
                 if (results[i] != task(items[i])) {
                   return "results[" + std::to_string(i) + "] is " + std::to_string(results[i]) +
                          ", expected " + std::to_string(task(items[i])) +
                          " (MAP_SHARED? mapped before the fork? the right range?)";
                 }
               }
               const std::string leaks = leaks_since(before);
               return leaks.empty() ? std::string("ok") : "leaked:" + leaks;
             },
             deadline)
      .describe();
}

TEST_F(IpcOverheadTest, ShmMapMatchesASequentialMapForEverySmallSize) {
  for (const std::size_t n : {0, 1, 2, 3, 7, 8, 9, 1000, 1001}) {
    for (const unsigned workers : {1U, 2U, 3U, 8U}) {
      EXPECT_EQ(check_shm_map(mix, n, workers), ok) << n << " items, " << workers << " workers";
    }
  }
}

TEST_F(IpcOverheadTest, ShmMapOfAMillionItemsMatchesASequentialMap) {
  EXPECT_EQ(check_shm_map(mix, 1'000'000, 2, 20s), ok);
  EXPECT_EQ(check_shm_map(mix, 1'000'000, 8, 20s), ok);
}

// Runs own_pid over n items in a child; checks that the workers, not the caller,
// ran every task, that there are `expected_workers` of them, and that each one
// got a single contiguous range, the sizes differing by at most one.
std::string check_partition(std::size_t n, unsigned workers, unsigned expected_workers) {
  return run_with_deadline(
             [&] {
               const std::vector<std::int64_t> items(n, 0);
               const auto pids = kata::shm_map(own_pid, items, workers);
               if (pids.size() != n) {
                 return std::string("wrong number of results");
               }
               std::map<std::int64_t, std::size_t> range_size;
               std::int64_t previous = 0;
               for (const std::int64_t pid : pids) {
                 if (pid == getpid()) {
                   return std::string("a task ran in the calling process, not in a worker");
                 }
                 if (pid != previous && range_size.contains(pid)) {
                   return "worker " + std::to_string(pid) + " got two ranges: not contiguous";
                 }
                 ++range_size[pid];
                 previous = pid;
               }
               if (range_size.size() != expected_workers) {
                 return std::to_string(range_size.size()) + " workers ran tasks, expected " +
                        std::to_string(expected_workers);
               }
               const auto [smallest, largest] = std::minmax_element(
                   range_size.begin(), range_size.end(),
                   [](const auto& a, const auto& b) { return a.second < b.second; });
               if (largest->second - smallest->second > 1) {
                 return "range sizes from " + std::to_string(smallest->second) + " to " +
                        std::to_string(largest->second) + ": a static partition differs by 1";
               }
               return std::string("ok");
             },
             10s)
      .describe();
}

TEST_F(IpcOverheadTest, ShmMapRunsTasksInWorkersEachOnOneContiguousRange) {
  EXPECT_EQ(check_partition(1, 4, 1), ok) << "1 item, 4 workers";
  EXPECT_EQ(check_partition(3, 8, 3), ok) << "3 items, 8 workers: one worker per item";
  EXPECT_EQ(check_partition(10, 3, 3), ok) << "10 items, 3 workers: 3 + 3 + 4";
  EXPECT_EQ(check_partition(10, 4, 4), ok) << "10 items, 4 workers";
  EXPECT_EQ(check_partition(1000, 8, 8), ok) << "1000 items, 8 workers";
}

TEST_F(IpcOverheadTest, ShmMapWithZeroWorkersUsesTheDefaultWorkerCount) {
  const unsigned workers = kata::default_worker_count();
  EXPECT_EQ(check_partition(100, 0, std::min(workers, 100U)), ok);
}

TEST_F(IpcOverheadTest, ShmMapWorkersWriteIntoASharedMapping) {
  const auto outcome = run_with_deadline(
      [] {
        const int in_caller = shared_mappings();
        const std::vector<std::int64_t> items(4, 0);
        const auto seen = kata::shm_map(count_shared_mappings, items, 2);
        for (const std::int64_t in_worker : seen) {
          if (in_worker <= in_caller) {
            return std::string("a worker sees no more shared mappings than the caller had: ") +
                   "where do its results go? (mmap MAP_SHARED | MAP_ANONYMOUS before fork)";
          }
        }
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), ok);
}

TEST_F(IpcOverheadTest, ShmMapReportsATaskThatThrowsWithItsMessage) {
  const std::string outcome = what_throws([] {
    std::vector<std::int64_t> items(100);
    for (std::size_t i = 0; i < items.size(); ++i) {
      items[i] = static_cast<std::int64_t>(i);
    }
    (void)kata::shm_map(throws_on_13, items, 4);
  });
  EXPECT_TRUE(outcome.starts_with("returned \"WorkerError: "))
      << "shm_map " << outcome << "\nA task that throws must make shm_map throw WorkerError.";
  EXPECT_NE(outcome.find("item 13 is unlucky"), std::string::npos)
      << "the task's message must reach the caller: " << outcome;
  EXPECT_EQ(outcome.find("leaked"), std::string::npos) << outcome;
}

TEST_F(IpcOverheadTest, ShmMapReportsATaskThatThrowsSomethingElse) {
  const std::string outcome = what_throws([] {
    const std::vector<std::int64_t> items{11, 12, 13, 14};
    (void)kata::shm_map(throws_an_int_on_13, items, 2);
  });
  EXPECT_TRUE(outcome.starts_with("returned \"WorkerError: ")) << "shm_map " << outcome;
  EXPECT_EQ(outcome.find("leaked"), std::string::npos) << outcome;
}

TEST_F(IpcOverheadTest, ShmMapReportsAWorkerKilledByASignal) {
  const std::string outcome = what_throws([] {
    const std::vector<std::int64_t> items{10, 11, 12, 13, 14, 15, 16, 17};
    (void)kata::shm_map(killed_on_13, items, 4);
  });
  EXPECT_TRUE(outcome.starts_with("returned \"WorkerError: "))
      << "a worker was killed, yet shm_map " << outcome;
  EXPECT_NE(outcome.find("SIGKILL"), std::string::npos)
      << "the message must name the signal: " << outcome;
  EXPECT_EQ(outcome.find("leaked"), std::string::npos) << outcome;
}

TEST_F(IpcOverheadTest, ShmMapReportsAWorkerThatExitsBeforeFinishingItsRange) {
  // Exit status 0 does not prove the results were written: without a check, the
  // caller would get zeros for the rest of that worker's range.
  const std::string outcome = what_throws([] {
    const std::vector<std::int64_t> items{10, 11, 12, 13, 14, 15, 16, 17};
    (void)kata::shm_map(exits_on_13, items, 2);
  });
  EXPECT_TRUE(outcome.starts_with("returned \"WorkerError: "))
      << "a worker left its range unfinished, yet shm_map " << outcome;
  EXPECT_EQ(outcome.find("leaked"), std::string::npos) << outcome;
}

TEST_F(IpcOverheadTest, ShmMapRejectsANullTask) {
  EXPECT_EQ(what_throws([] {
              const std::vector<std::int64_t> items{1, 2, 3};
              (void)kata::shm_map(nullptr, items, 2);
            }),
            quoted("invalid_argument"));
}

// ---------------------------------------------------------------------------
// Every forked child leaves with _exit()

// Counted in shared memory, so that a child that runs the handler is seen too.
std::atomic<int>* g_atexit_runs = nullptr;

void count_an_atexit_run() {
  g_atexit_runs->fetch_add(1);
}

// Runs `call` in a fresh process that has an atexit handler and one byte waiting in a
// stdio buffer, as any program may. A child that leaves through exit() (or by
// returning from main) runs that handler and writes that byte a second time.
std::string what_a_child_runs_of_its_parent(const std::function<void()>& call) {
  return run_with_deadline(
             [&] {
               kata::testing::SharedArray<std::atomic<int>> runs(1);
               g_atexit_runs = runs.data();
               if (std::atexit(count_an_atexit_run) != 0) {
                 throw std::runtime_error("atexit failed");
               }
               const kata::testing::TempDir dir;
               const std::filesystem::path file = dir.path() / "buffered";
               std::FILE* buffered = std::fopen(file.c_str(), "w");
               if (buffered == nullptr) {
                 throw std::runtime_error("cannot create " + file.string());
               }
               std::fputc('x', buffered);  // still in the buffer at the fork
               call();
               std::fclose(buffered);
               std::string complaints;
               if (const int children = runs[0].load(); children != 0) {
                 complaints += "a child ran this process's atexit handler (" +
                               std::to_string(children) + " time(s)); ";
               }
               if (const auto size = std::filesystem::file_size(file); size != 1) {
                 complaints += "a child flushed this process's stdio buffer (the file holds " +
                               std::to_string(size) + " bytes, not 1); ";
               }
               return complaints.empty() ? std::string("ok") : complaints;
             },
             20s)
      .describe();
}

TEST_F(IpcOverheadTest, EveryChildLeavesWithUnderscoreExitRunningNothingOfItsParent) {
  const std::vector<std::pair<std::string, std::function<void()>>> calls = {
      {"pipe_round_trip_ns", [] { (void)kata::pipe_round_trip_ns(64, 3); }},
      {"pipe_bandwidth", [] { (void)kata::pipe_bandwidth(1 << 16, 4096); }},
      {"process_start_ns", [] { (void)kata::process_start_ns(3); }},
      {"shm_map", [] { (void)kata::shm_map(mix, sample(100), 3); }},
  };
  for (const auto& [name, call] : calls) {
    EXPECT_EQ(what_a_child_runs_of_its_parent(call), ok)
        << name << ": a forked child is a copy of its parent, atexit handlers and unflushed "
        << "stdio buffers included. It must leave with _exit() (kata::fork_child does), never "
        << "exit() or a return from main: those run the handlers and flush the buffers again.";
  }
}

}  // namespace
