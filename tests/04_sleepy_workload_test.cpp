// Tests of exercise 04: jobs that wait, run by forked workers and by oneTBB.
//
// The tests measure concurrency, never time. The test job records, in a shared
// anonymous mapping made before any fork, which items ran (a count per item), in
// which process, and how many jobs ran at once. To make "how many at once" not
// depend on scheduling luck, each job waits (up to a few seconds) until the
// expected number of jobs are running together: a big enough pool always gets
// there at once, a pool that is too small never does.
#include "sleepy_workload.hpp"

#include <kata/errors.hpp>
#include <kata/shared_memory.hpp>
#include <kata/testing.hpp>

#include <unistd.h>

#include <gtest/gtest.h>

#include <array>
#include <atomic>
#include <climits>
#include <csignal>
#include <cstdint>
#include <limits>
#include <numeric>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace {

using namespace std::chrono_literals;
using kata::testing::run_with_deadline;

// Every item a test passes is below this: it indexes the per-item records.
constexpr std::size_t kMaxItems = 256;

// How long a job waits for company before it gives up (the peak is then too low).
constexpr auto kRendezvousLimit = 4s;

// How long a job waits for one job more than the pool may run: a correct pool
// never gets there and every test that checks it pays this wait once.
constexpr auto kOneTooManyLimit = 1s;

// Long enough for a correct implementation on a loaded machine, short enough that a
// hanging one fails well before ctest's own timeout.
constexpr auto kDeadline = 20s;

// What the jobs record. It lives in a MAP_SHARED anonymous mapping, so the jobs'
// writes are seen by the test whichever process (worker, or run_with_deadline's child)
// ran them.
struct Probe {
  std::array<std::atomic<int>, kMaxItems> runs{};   // how often each item ran
  std::array<std::atomic<pid_t>, kMaxItems> pid{};  // the process that ran it last
  std::atomic<int> bad_items{0};                    // items out of [0, kMaxItems)
  std::atomic<int> current{0};                      // jobs running now
  std::atomic<int> peak{0};                         // the most jobs ever running at once
  std::atomic<int> finished{0};                     // jobs that have returned
  std::atomic<int> target{1};                       // hold each job until this many ran at once
  std::atomic<std::int64_t> patience_ns{std::chrono::nanoseconds(kRendezvousLimit).count()};
  std::atomic<bool> gave_up{false};  // a job waited kRendezvousLimit in vain
  std::atomic<bool> slow_item_saw_rest_done{false};
  std::atomic<int> total_items{0};  // for the slow-item test: how many items there are
};

// Set by the fixture before any fork: a plain function pointer (the Job) cannot
// capture, so the jobs find the mapping here. fork() copies the pointer; the
// mapping it points to is shared.
Probe* probe = nullptr;

class ProbeTest : public kata::testing::LeakCheckedTest {
 protected:
  void SetUp() override {
    LeakCheckedTest::SetUp();
    shared_probe_.emplace();
    probe = shared_probe_->get();
  }
  void TearDown() override {
    probe = nullptr;
    shared_probe_.reset();
    LeakCheckedTest::TearDown();
  }

  // How many items ran a number of times other than once, as a readable list.
  static std::string items_not_run_exactly_once(const std::vector<std::int64_t>& items) {
    std::vector<int> expected(kMaxItems, 0);
    for (const std::int64_t item : items) {
      ++expected[static_cast<std::size_t>(item)];
    }
    std::string wrong;
    for (std::size_t item = 0; item < kMaxItems; ++item) {
      const int runs = probe->runs[item];
      if (runs != expected[item]) {
        wrong += " item " + std::to_string(item) + " ran " + std::to_string(runs) + "x (expected " +
                 std::to_string(expected[item]) + "x);";
      }
    }
    return wrong;
  }

 private:
  std::optional<kata::Shared<Probe>> shared_probe_;  // made before any fork, in SetUp
};

void record_start(std::int64_t item) {
  if (item < 0 || static_cast<std::size_t>(item) >= kMaxItems) {
    ++probe->bad_items;
    return;
  }
  ++probe->runs[static_cast<std::size_t>(item)];
  probe->pid[static_cast<std::size_t>(item)] = getpid();
}

void enter() {
  const int now = ++probe->current;
  int peak = probe->peak;
  while (now > peak && !probe->peak.compare_exchange_weak(peak, now)) {
  }
}

void leave() {
  --probe->current;
  ++probe->finished;
}

// The test job: record the item, then stay until `target` jobs have been running at
// once (or give up after `patience_ns`), then a few ms more.
void recording_job(std::int64_t item) {
  record_start(item);
  enter();
  const auto give_up_at =
      std::chrono::steady_clock::now() + std::chrono::nanoseconds(probe->patience_ns.load());
  while (probe->peak < probe->target && !probe->gave_up) {
    if (std::chrono::steady_clock::now() > give_up_at) {
      probe->gave_up = true;
    }
    std::this_thread::sleep_for(200us);
  }
  std::this_thread::sleep_for(5ms);
  leave();
}

void throwing_job(std::int64_t item) {
  recording_job(item);
  if (item == 3) {
    throw std::runtime_error("item 3 failed on purpose");
  }
}

void dying_job(std::int64_t item) {
  recording_job(item);
  if (item == 3) {
    raise(SIGKILL);
  }
}

void exiting_job(std::int64_t item) {
  record_start(item);
  if (item == 3) {
    _exit(0);  // ends the worker "successfully", with item 3 unfinished
  }
}

// Item 0 waits until every other item has finished (or gives up). With dynamic
// scheduling a worker busy with item 0 holds back nothing: the other workers take
// every other item. With items dealt out in advance, or in chunks, some items sit
// behind item 0 in its worker's share, and item 0 gives up.
void slow_first_job(std::int64_t item) {
  record_start(item);
  if (item == 0) {
    const auto give_up_at = std::chrono::steady_clock::now() + kRendezvousLimit;
    while (probe->finished < probe->total_items - 1) {
      if (std::chrono::steady_clock::now() > give_up_at) {
        return;
      }
      std::this_thread::sleep_for(200us);
    }
    probe->slow_item_saw_rest_done = true;
  } else {
    std::this_thread::sleep_for(1ms);
  }
  ++probe->finished;
}

std::vector<std::int64_t> items_from_zero(std::size_t count) {
  std::vector<std::int64_t> items(count);
  std::iota(items.begin(), items.end(), 0);
  return items;
}

// What outcome_of() says of a call that returned normally.
const std::string kNoException = "returned \"no exception\"";

// Runs `call` in a child with a deadline and says how it ended: "returned", or the
// exception's type and message. It also names any worker left behind: every one
// must be reaped, on every path.
template <class Call>
kata::testing::ChildOutcome outcome_of(Call call) {
  return run_with_deadline(
      [call] {
        std::string result;
        try {
          call();
          result = "no exception";
        } catch (const kata::WorkerError& error) {
          result = std::string("WorkerError: ") + error.what();
        } catch (const kata::NotImplemented& error) {
          result = std::string("NotImplemented: ") + error.what();
        } catch (const std::invalid_argument& error) {
          result = std::string("invalid_argument: ") + error.what();
        } catch (const std::exception& error) {
          result = std::string("other exception: ") + error.what();
        }
        if (const auto left = kata::testing::child_pids(); !left.empty()) {
          result += " [but " + std::to_string(left.size()) + " worker(s) were never reaped]";
        }
        return result;
      },
      kDeadline);
}

// ---------------------------------------------------------------- run_processes

using RunProcesses = ProbeTest;

TEST_F(RunProcesses, RunsEveryItemExactlyOnce) {
  // Not 0..n-1 in order: a solution that passes indexes instead of items fails.
  std::vector<std::int64_t> items;
  for (std::int64_t i = 59; i >= 0; --i) {
    items.push_back(i * 3 + 1);
  }
  const auto outcome = outcome_of([&] { kata::run_processes(recording_job, items, 4); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_EQ(items_not_run_exactly_once(items), "") << "every item must run exactly once";
  EXPECT_EQ(probe->bad_items, 0) << "jobs were called with values that are not items";
}

TEST_F(RunProcesses, RunsARepeatedItemAsOftenAsItAppears) {
  const std::vector<std::int64_t> items = {7, 7, 7, 2, 9, 2};
  const auto outcome = outcome_of([&] { kata::run_processes(recording_job, items, 3); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunProcesses, EightWorkersRunEightJobsAtOnceEvenOnFewerCores) {
  probe->target = 8;
  const auto items = items_from_zero(24);
  const auto outcome = outcome_of([&] { kata::run_processes(recording_job, items, 8); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_EQ(probe->peak, 8) << "8 workers must run 8 sleeping jobs at once, whatever the number "
                               "of cores ("
                            << std::thread::hardware_concurrency() << " here)";
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunProcesses, EightWorkersNeverRunNineJobsAtOnce) {
  // The jobs wait for a ninth companion that a pool of 8 never provides.
  probe->target = 9;
  probe->patience_ns = std::chrono::nanoseconds(kOneTooManyLimit).count();
  const auto items = items_from_zero(24);
  const auto outcome = outcome_of([&] { kata::run_processes(recording_job, items, 8); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_LE(probe->peak, 8) << "8 workers means 8 processes taking turns at the items: no "
                               "process per item, no extra workers";
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunProcesses, JobsRunInForkedWorkersNeverInTheCaller) {
  probe->target = 3;
  const auto items = items_from_zero(30);
  const auto outcome = run_with_deadline(
      [&] {
        kata::run_processes(recording_job, items, 3);
        return std::to_string(getpid());
      },
      kDeadline);
  ASSERT_TRUE(outcome.ok()) << outcome.describe();
  const pid_t caller = static_cast<pid_t>(std::stol(outcome.output));
  std::set<pid_t> workers;
  for (const std::int64_t item : items) {
    const pid_t pid = probe->pid[static_cast<std::size_t>(item)];
    EXPECT_NE(pid, caller) << "item " << item << " ran in the calling process, not in a worker";
    EXPECT_NE(pid, 0) << "item " << item << " never ran";
    workers.insert(pid);
  }
  EXPECT_LE(workers.size(), 3U) << "3 workers must share the items: no process per item";
}

TEST_F(RunProcesses, ASlowItemDoesNotHoldBackTheItemsBehindIt) {
  const auto items = items_from_zero(20);
  probe->total_items = static_cast<int>(items.size());
  const auto outcome = outcome_of([&] { kata::run_processes(slow_first_job, items, 2); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_TRUE(probe->slow_item_saw_rest_done)
      << "while one worker was busy with item 0, the other must have run all 19 other items: "
         "hand items out one at a time, to whichever worker is free (no shares dealt out in "
         "advance, no chunks)";
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunProcesses, FewerItemsThanWorkersRunOnceEach) {
  const std::vector<std::int64_t> items = {4, 5, 6};
  const auto outcome = outcome_of([&] { kata::run_processes(recording_job, items, 8); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunProcesses, NoItemsIsNothingToDo) {
  const auto outcome = outcome_of([] { kata::run_processes(recording_job, {}, 4); });
  EXPECT_EQ(outcome.describe(), kNoException);
}

TEST_F(RunProcesses, AJobThatThrowsIsReportedAsWorkerError) {
  const auto items = items_from_zero(12);
  const auto outcome = outcome_of([&] { kata::run_processes(throwing_job, items, 3); });
  ASSERT_TRUE(outcome.ok()) << outcome.describe();
  EXPECT_EQ(outcome.output.rfind("WorkerError: ", 0), 0U)
      << "a job's exception must reach the caller as kata::WorkerError; got: " << outcome.output;
  EXPECT_NE(outcome.output.find("item 3 failed on purpose"), std::string::npos)
      << "the WorkerError must carry the job's message; got: " << outcome.output;
  EXPECT_EQ(outcome.output.find("never reaped"), std::string::npos) << outcome.output;
}

TEST_F(RunProcesses, AWorkerKilledByASignalIsReportedAsWorkerError) {
  const auto items = items_from_zero(12);
  const auto outcome = outcome_of([&] { kata::run_processes(dying_job, items, 3); });
  ASSERT_TRUE(outcome.ok()) << outcome.describe();
  EXPECT_EQ(outcome.output.rfind("WorkerError: ", 0), 0U)
      << "a worker that dies must be reported as kata::WorkerError; got: " << outcome.output;
  EXPECT_NE(outcome.output.find("SIGKILL"), std::string::npos)
      << "say how the worker died; got: " << outcome.output;
  EXPECT_EQ(outcome.output.find("never reaped"), std::string::npos) << outcome.output;
}

TEST_F(RunProcesses, AWorkerThatExitsInTheMiddleOfAJobIsReportedAsWorkerError) {
  const auto items = items_from_zero(12);
  const auto outcome = outcome_of([&] { kata::run_processes(exiting_job, items, 3); });
  ASSERT_TRUE(outcome.ok()) << outcome.describe();
  EXPECT_EQ(outcome.output.rfind("WorkerError: ", 0), 0U)
      << "item 3's job never finished (its worker called _exit(0)): that is a failure, even "
         "though the worker's exit status was 0; got: "
      << outcome.output;
}

TEST_F(RunProcesses, ZeroWorkersIsAnInvalidArgument) {
  const auto outcome = outcome_of([] {
    const std::vector<std::int64_t> items = {1, 2, 3};
    kata::run_processes(recording_job, items, 0);
  });
  ASSERT_TRUE(outcome.ok()) << outcome.describe();
  EXPECT_EQ(outcome.output.rfind("invalid_argument: ", 0), 0U) << outcome.output;
  EXPECT_EQ(probe->finished, 0) << "no job may run when the arguments are invalid";
}

// ---------------------------------------------------------------------- run_tbb
// oneTBB keeps process-wide state (its thread pool, global_control), so every call
// runs in a child of its own.

using RunTbb = ProbeTest;

TEST_F(RunTbb, RunsEveryItemExactlyOnce) {
  std::vector<std::int64_t> items;
  for (std::int64_t i = 59; i >= 0; --i) {
    items.push_back(i * 3 + 1);
  }
  const auto outcome = outcome_of([&] { kata::run_tbb(recording_job, items, 4); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_EQ(items_not_run_exactly_once(items), "");
  EXPECT_EQ(probe->bad_items, 0) << "jobs were called with values that are not items";
}

TEST_F(RunTbb, SixteenThreadsRunSixteenJobsAtOnce) {
  probe->target = 16;
  const auto items = items_from_zero(48);
  const auto outcome = outcome_of([&] { kata::run_tbb(recording_job, items, 16); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_EQ(probe->peak, 16)
      << "with 16 threads, 16 sleeping jobs must run at once. An arena alone is not enough: "
         "oneTBB still caps its threads at the core count ("
      << std::thread::hardware_concurrency() << " here) unless a tbb::global_control raises "
      << "max_allowed_parallelism";
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunTbb, SixteenThreadsNeverRunSeventeenJobsAtOnce) {
  probe->target = 17;
  probe->patience_ns = std::chrono::nanoseconds(kOneTooManyLimit).count();
  const auto items = items_from_zero(48);
  const auto outcome = outcome_of([&] { kata::run_tbb(recording_job, items, 16); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_LE(probe->peak, 16) << "with 16 threads, at most 16 jobs may run at once: an arena of "
                                "exactly `threads` slots, the calling thread included";
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunTbb, OneThreadRunsOneJobAtATime) {
  const auto items = items_from_zero(10);
  const auto outcome = outcome_of([&] { kata::run_tbb(recording_job, items, 1); });
  ASSERT_EQ(outcome.describe(), kNoException);
  EXPECT_EQ(probe->peak, 1) << "with 1 thread, jobs must run one at a time";
  EXPECT_EQ(items_not_run_exactly_once(items), "");
}

TEST_F(RunTbb, AJobsExceptionPropagatesToTheCaller) {
  const auto items = items_from_zero(12);
  const auto outcome = outcome_of([&] { kata::run_tbb(throwing_job, items, 4); });
  EXPECT_EQ(outcome.describe(), "returned \"other exception: item 3 failed on purpose\"")
      << "the job's std::runtime_error must reach the caller, message and all";
}

TEST_F(RunTbb, ZeroThreadsIsAnInvalidArgument) {
  const auto outcome = outcome_of([] {
    const std::vector<std::int64_t> items = {1, 2, 3};
    kata::run_tbb(recording_job, items, 0);
  });
  ASSERT_TRUE(outcome.ok()) << outcome.describe();
  EXPECT_EQ(outcome.output.rfind("invalid_argument: ", 0), 0U) << outcome.output;
  EXPECT_EQ(probe->finished, 0) << "no job may run when the arguments are invalid";
}

// ------------------------------------------------------------------- ideal_time

TEST(IdealTime, AnExactDivisionIsItemsOverWorkersRounds) {
  EXPECT_EQ(kata::ideal_time(1000, 8, 10ms), 1250ms);
  EXPECT_EQ(kata::ideal_time(16, 16, 10ms), 10ms);
  EXPECT_EQ(kata::ideal_time(1000, 1, 10ms), 10s);
}

TEST(IdealTime, ARemainderCostsAWholeRound) {
  EXPECT_EQ(kata::ideal_time(1000, 3, 10ms), 3340ms);  // 334 rounds, the last one of 1 item
  EXPECT_EQ(kata::ideal_time(9, 8, 1s), 2s);
  EXPECT_EQ(kata::ideal_time(1000, 32, 10ms), 320ms);  // 31.25 rounds take 32
}

TEST(IdealTime, MoreWorkersThanItemsIsOneRound) {
  EXPECT_EQ(kata::ideal_time(5, 8, 10ms), 10ms);
  EXPECT_EQ(kata::ideal_time(1000, 100000, 7ns), 7ns);
  EXPECT_EQ(kata::ideal_time(0, 8, 10ms), 0ns);
}

TEST(IdealTime, ZeroWorkersOrANegativeTimeIsAnInvalidArgument) {
  EXPECT_THROW((void)kata::ideal_time(10, 0, 10ms), std::invalid_argument);
  EXPECT_THROW((void)kata::ideal_time(10, 2, -1ms), std::invalid_argument);
}

TEST(IdealTime, RoundingUpDoesNotOverflowNearTheLimits) {
  constexpr auto most = std::numeric_limits<std::size_t>::max();
  // 2^64 - 1 == (2^32 - 1) * (2^32 + 1): an exact division; (items + workers - 1)
  // would wrap around to a tiny number first.
  EXPECT_EQ(kata::ideal_time(most, UINT_MAX, 1ns), std::chrono::nanoseconds((1LL << 32) + 1));
  EXPECT_THROW((void)kata::ideal_time(most, 1, 1ns), std::overflow_error);
}

}  // namespace
