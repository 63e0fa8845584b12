// Tests of exercise 08: PipeQueue and ShmQueue between processes, including
// producers SIGKILLed at random instants.
#include "queues.hpp"

#include <kata/child.hpp>
#include <kata/testing.hpp>

#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <cstddef>
#include <fstream>
#include <iterator>
#include <memory>
#include <random>
#include <string>
#include <system_error>
#include <thread>
#include <type_traits>
#include <vector>

namespace {

using namespace std::chrono_literals;
using kata::ChildProcess;
using kata::fork_child;
using kata::testing::run_with_deadline;
using kata::testing::SharedArray;

class PipeQueueTest : public kata::testing::LeakCheckedTest {};
class ShmQueueTest : public kata::testing::LeakCheckedTest {};

// What a body run by run_with_deadline() returns when every check passed.
const std::string kPassed = "returned \"ok\"";

// Inside run_with_deadline(): a failed check throws, and its message becomes the test's.
[[noreturn]] void fail(const std::string& message) {
  throw std::runtime_error(message);
}
void check(bool condition, const std::string& message) {
  if (!condition) {
    fail(message);
  }
}

// seen[p * each + i] counts the consumers that got message i of producer p.
void check_each_arrived_once(SharedArray<std::atomic<int>>& seen, std::int64_t each) {
  for (std::size_t k = 0; k < seen.size(); ++k) {
    if (seen[k] != 1) {
      const auto producer = static_cast<std::int64_t>(k) / each;
      const auto sequence = static_cast<std::int64_t>(k) % each;
      fail("message " + std::to_string(sequence) + " of producer " + std::to_string(producer) +
           " arrived " + std::to_string(seen[k].load()) + " times in all consumers, not once");
    }
  }
}

// A message names who sent it and when: a producer and its sequence number, so
// the consumer can tell a lost, a duplicated and an invented message apart.
std::int64_t encode(std::int64_t producer, std::int64_t sequence) {
  return producer << 32 | sequence;
}
std::int64_t producer_of(std::int64_t message) {
  return message >> 32;
}
std::int64_t sequence_of(std::int64_t message) {
  return message & 0xffff'ffff;
}

// Counts every message that arrives and rejects what no producer put.
class Tally {
 public:
  Tally(std::int64_t producers, std::int64_t per_producer)
      : per_producer_(per_producer), seen_(static_cast<std::size_t>(producers * per_producer)) {}

  void add(std::int64_t message) {
    const std::int64_t producer = producer_of(message);
    const std::int64_t sequence = sequence_of(message);
    if (producer < 0 || producer >= static_cast<std::int64_t>(seen_.size()) / per_producer_ ||
        sequence >= per_producer_) {
      fail("got " + std::to_string(message) + ", a message no producer put (torn or invented)");
    }
    ++seen_[static_cast<std::size_t>(producer * per_producer_ + sequence)];
  }

  // Every message exactly once.
  void check_exactly_once() const {
    for (std::size_t i = 0; i < seen_.size(); ++i) {
      if (seen_[i] != 1) {
        fail("message " + std::to_string(i % per_producer_) + " of producer " +
             std::to_string(i / per_producer_) + " arrived " + std::to_string(seen_[i]) +
             " times, not once");
      }
    }
  }

 private:
  std::int64_t per_producer_;
  std::vector<int> seen_;
};

// The scheduler state of a process: 'R' running or runnable, 'S' asleep, ...
char state_of(pid_t pid) {
  std::ifstream file("/proc/" + std::to_string(pid) + "/stat");
  std::string line;
  std::getline(file, line);
  const auto close_paren = line.rfind(')');
  return close_paren == std::string::npos || close_paren + 2 >= line.size() ? '?'
                                                                            : line[close_paren + 2];
}

// Waits (a few seconds at most) until `pid` is asleep in the kernel. A process
// that spins while it waits is always 'R' and never gets there.
bool wait_until_asleep(pid_t pid) {
  for (int tries = 0; tries < 5000; ++tries) {
    if (state_of(pid) == 'S') {
      return true;
    }
    std::this_thread::sleep_for(1ms);
  }
  return false;
}

// Waits (a few seconds at most) until `flag` reaches `value`.
bool wait_for_flag(std::atomic<int>& flag, int value) {
  for (int tries = 0; tries < 5000 && flag.load() != value; ++tries) {
    std::this_thread::sleep_for(1ms);
  }
  return flag.load() == value;
}

void wait_all(std::vector<ChildProcess>& children, const std::string& who) {
  for (auto& child : children) {
    const kata::ExitStatus status = child.wait();
    check(status.success(), who + " " + status.describe());
  }
}

// Makes this process die (SIGSYS) at its first futex() system call, which in a
// ShmQueue is the call that wakes a sleeper: the one instant a random SIGKILL
// almost never hits, caught every time. seccomp needs no privilege once the
// process promises not to gain any (PR_SET_NO_NEW_PRIVS).
void die_at_the_first_futex_call() {
  sock_filter filter[] = {
      BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(seccomp_data, nr)),
      BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_futex, 0, 1),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_KILL_PROCESS),
      BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
  };
  const sock_fprog program{static_cast<unsigned short>(std::size(filter)), filter};
  if (::prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) == -1 ||
      ::prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &program) == -1) {
    throw std::system_error(errno, std::generic_category(), "seccomp filter");
  }
}

void check_died_in_its_wake_up_call(ChildProcess& child, const std::string& who) {
  const kata::ExitStatus status = child.wait();
  check(status.signaled() && status.signal() == SIGSYS,
        who + " should have died at its first futex() call, the one that wakes the sleeper " +
            "(SIGSYS), but it " + status.describe() + ": does it wake sleepers at all?");
}

// ------------------------------------------------- both queues, one test each

// What differs between the two queues in the tests they share: how a process
// says it only puts or only gets, and how the consumers learn that no more
// messages will come (a pipe: every writing end closed; ShmQueue: close()).
template <class Queue>
struct QueueTraits;

template <>
struct QueueTraits<kata::PipeQueue> {
  static std::unique_ptr<kata::PipeQueue> make(std::size_t /*capacity: the pipe's own*/) {
    return std::make_unique<kata::PipeQueue>();
  }
  static void in_producer(kata::PipeQueue& queue) { queue.close_reader(); }
  static void in_consumer(kata::PipeQueue& queue) { queue.close_writer(); }
  // The parent after forking: it keeps the reading end only if it gets.
  static void parent_after_forking(kata::PipeQueue& queue, bool parent_gets) {
    queue.close_writer();  // else get() would wait for this process's own end
    if (!parent_gets) {
      queue.close_reader();
    }
  }
  // The producers have exited, and their exits closed the last writing ends.
  static void after_the_producers(kata::PipeQueue& /*queue*/) {}
};

template <>
struct QueueTraits<kata::ShmQueue> {
  static std::unique_ptr<kata::ShmQueue> make(std::size_t capacity) {
    return std::make_unique<kata::ShmQueue>(capacity);
  }
  static void in_producer(kata::ShmQueue& /*queue*/) {}
  static void in_consumer(kata::ShmQueue& /*queue*/) {}
  static void parent_after_forking(kata::ShmQueue& /*queue*/, bool /*parent_gets*/) {}
  // The consumers drain what is left, then get() says nullopt.
  static void after_the_producers(kata::ShmQueue& queue) { queue.close(); }
};

template <class Queue>
class QueueTest : public kata::testing::LeakCheckedTest {};

struct QueueName {
  template <class Queue>
  static std::string GetName(int /*index*/) {
    return std::is_same_v<Queue, kata::PipeQueue> ? "PipeQueue" : "ShmQueue";
  }
};

using Queues = ::testing::Types<kata::PipeQueue, kata::ShmQueue>;
TYPED_TEST_SUITE(QueueTest, Queues, QueueName);

TYPED_TEST(QueueTest, TenProcessesEachPutOneNumberAndTheParentGetsAllTen) {
  // The notebook's cell: for i in range(10): Process(target=put, args=(q, i)).start()
  using Traits = QueueTraits<TypeParam>;
  const auto outcome = run_with_deadline(
      [] {
        const auto queue =
            Traits::make(4);  // ShmQueue: smaller than ten, some children wait for room
        std::vector<ChildProcess> children;
        for (std::int64_t i = 0; i < 10; ++i) {
          children.push_back(fork_child([&queue, i] {
            Traits::in_producer(*queue);
            queue->put(i * i);
            return 0;
          }));
        }
        Traits::parent_after_forking(*queue, true);
        std::vector<std::int64_t> got;
        for (int i = 0; i < 10; ++i) {
          const auto value = queue->get();
          check(value.has_value(),
                "get() returned nullopt after " + std::to_string(i) + " of the ten numbers");
          got.push_back(*value);
        }
        wait_all(children, "a putting child");
        std::sort(got.begin(), got.end());
        for (std::int64_t i = 0; i < 10; ++i) {
          check(got[static_cast<std::size_t>(i)] == i * i,
                "the ten numbers are not 0, 1, 4, ..., 81");
        }
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TYPED_TEST(QueueTest, EightProducersTimesTenThousandMessagesArriveWholeAndExactlyOnce) {
  using Traits = QueueTraits<TypeParam>;
  const auto outcome = run_with_deadline(
      [] {
        constexpr std::int64_t kProducers = 8;
        constexpr std::int64_t kEach = 10'000;
        const auto queue = Traits::make(64);
        std::vector<ChildProcess> children;
        for (std::int64_t p = 0; p < kProducers; ++p) {
          children.push_back(fork_child([&queue, p] {
            Traits::in_producer(*queue);
            for (std::int64_t i = 0; i < kEach; ++i) {
              queue->put(encode(p, i));
            }
            return 0;
          }));
        }
        Traits::parent_after_forking(*queue, true);
        Tally tally(kProducers, kEach);
        for (std::int64_t k = 0; k < kProducers * kEach; ++k) {
          const auto message = queue->get();
          check(message.has_value(), "get() returned nullopt after " + std::to_string(k) + " of " +
                                         std::to_string(kProducers * kEach) + " messages");
          tally.add(*message);
        }
        wait_all(children, "a producer");
        Traits::after_the_producers(*queue);
        check(!queue->get().has_value(), "more messages came out than went in");
        tally.check_exactly_once();
        return std::string("ok");
      },
      30s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TYPED_TEST(QueueTest, ConsumersInSeveralProcessesShareTheMessages) {
  using Traits = QueueTraits<TypeParam>;
  const auto outcome = run_with_deadline(
      [] {
        constexpr std::int64_t kProducers = 4;
        constexpr std::int64_t kConsumers = 3;
        constexpr std::int64_t kEach = 5'000;
        SharedArray<std::atomic<int>> seen(kProducers * kEach);
        SharedArray<std::atomic<int>> invented(1);
        const auto queue = Traits::make(16);
        std::vector<ChildProcess> consumers;
        for (std::int64_t c = 0; c < kConsumers; ++c) {
          consumers.push_back(fork_child([&] {
            Traits::in_consumer(*queue);
            while (const auto message = queue->get()) {
              const std::int64_t p = producer_of(*message);
              const std::int64_t i = sequence_of(*message);
              if (p < 0 || p >= kProducers || i >= kEach) {
                ++invented[0];
              } else {
                ++seen[static_cast<std::size_t>(p * kEach + i)];
              }
            }
            return 0;
          }));
        }
        std::vector<ChildProcess> producers;
        for (std::int64_t p = 0; p < kProducers; ++p) {
          producers.push_back(fork_child([&queue, p] {
            Traits::in_producer(*queue);
            for (std::int64_t i = 0; i < kEach; ++i) {
              queue->put(encode(p, i));
            }
            return 0;
          }));
        }
        Traits::parent_after_forking(*queue, false);
        wait_all(producers, "a producer");
        Traits::after_the_producers(*queue);
        wait_all(consumers, "a consumer");
        check(invented[0] == 0, "consumers got messages no producer put (torn or invented)");
        check_each_arrived_once(seen, kEach);
        return std::string("ok");
      },
      30s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

// ---------------------------------------------------------------- PipeQueue

TEST_F(PipeQueueTest, GetReturnsNulloptOnceEveryWriterIsGone) {
  const auto outcome = run_with_deadline(
      [] {
        kata::PipeQueue queue;
        std::vector<ChildProcess> children;
        for (std::int64_t i = 1; i <= 3; ++i) {
          children.push_back(fork_child([&queue, i] {
            queue.put(i);
            return 0;  // _exit closes this child's ends
          }));
        }
        queue.close_writer();
        wait_all(children, "a writer");
        std::int64_t sum = 0;
        for (int i = 0; i < 3; ++i) {
          const auto value = queue.get();
          check(value.has_value(), "get() returned nullopt with messages still in the pipe");
          sum += *value;
        }
        check(sum == 6, "got the wrong three numbers");
        check(!queue.get().has_value(),
              "get() returned a value after every writer had closed its end");
        check(!queue.get().has_value(), "get() at end of stream must keep returning nullopt");
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(PipeQueueTest, GetReadsOneMessageAndNotAByteMore) {
  // A get() that reads ahead (say 4 KiB into a buffer) takes the other messages
  // with it when its process exits.
  const auto outcome = run_with_deadline(
      [] {
        kata::PipeQueue queue;
        for (std::int64_t i = 1; i <= 5; ++i) {
          queue.put(i);
        }
        queue.close_writer();
        ChildProcess reader = fork_child([&queue] {
          const auto value = queue.get();
          return value == 1 ? 0 : 3;
        });
        const kata::ExitStatus status = reader.wait();
        check(status.success(), "the child that got one message " + status.describe());
        for (std::int64_t i = 2; i <= 5; ++i) {
          const auto value = queue.get();
          check(value == i, "after another process got one message, the next get() returned " +
                                (value ? std::to_string(*value) : std::string("nullopt")) +
                                " instead of " + std::to_string(i) +
                                ": did that process read ahead?");
        }
        check(!queue.get().has_value(), "more messages came out than went in");
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(PipeQueueTest, PutWithNoReaderLeftThrowsInsteadOfDyingOfSigpipe) {
  const auto outcome = run_with_deadline(
      [] {
        kata::PipeQueue queue;
        queue.close_reader();  // this was the only process: no reader is left
        try {
          queue.put(1);
        } catch (const std::system_error& error) {
          check(error.code().value() == EPIPE,
                std::string("put() threw, but not EPIPE: ") + error.what());
          return std::string("ok");
        }
        return std::string("put() to a pipe with no reader returned normally");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(PipeQueueTest, ClosedEndsRefuseToBeUsed) {
  const auto outcome = run_with_deadline(
      [] {
        kata::PipeQueue queue;
        queue.close_writer();
        queue.close_writer();  // idempotent
        queue.close_reader();
        queue.close_reader();
        bool put_threw = false;
        bool get_threw = false;
        try {
          queue.put(1);
        } catch (const std::logic_error&) {
          put_threw = true;
        }
        try {
          (void)queue.get();
        } catch (const std::logic_error&) {
          get_threw = true;
        }
        check(put_threw, "put() after close_writer() must throw std::logic_error");
        check(get_threw, "get() after close_reader() must throw std::logic_error");
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

// ----------------------------------------------------------------- ShmQueue

TEST_F(ShmQueueTest, ZeroCapacityThrowsInvalidArgument) {
  EXPECT_THROW(kata::ShmQueue(0), std::invalid_argument);
}

TEST_F(ShmQueueTest, GetReturnsMessagesInTheOrderTheyWerePutAroundTheRing) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(3);
        std::int64_t next_put = 0;
        std::int64_t next_get = 0;
        for (int round = 0; round < 20; ++round) {
          for (int i = 0; i < 1 + round % 3; ++i) {
            queue.put(next_put++);
          }
          while (next_get < next_put) {
            const auto value = queue.get();
            check(value == next_get, "got " + (value ? std::to_string(*value) : "nullopt") +
                                         ", expected " + std::to_string(next_get) +
                                         " (first in, first out)");
            ++next_get;
          }
        }
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, PutSleepsWhileTheQueueIsFull) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(2);
        SharedArray<std::atomic<int>> puts_returned(1);
        ChildProcess putter = fork_child([&] {
          for (std::int64_t i = 1; i <= 3; ++i) {
            queue.put(i);
            ++puts_returned[0];
          }
          return 0;
        });
        check(wait_for_flag(puts_returned[0], 2), "the first two puts never returned");
        check(wait_until_asleep(putter.pid()),
              "a put() on a full queue must sleep in the kernel; the putter stayed in state '" +
                  std::string(1, state_of(putter.pid())) + "' (spinning?)");
        check(puts_returned[0] == 2, "put() returned while the queue was full");
        check(queue.get() == 1, "the first get() did not return the first message");
        check(wait_for_flag(puts_returned[0], 3), "a get() made room but the putter never woke up");
        const kata::ExitStatus status = putter.wait();
        check(status.success(), "the putter " + status.describe());
        check(queue.get() == 2 && queue.get() == 3, "the messages came out wrong");
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, GetSleepsWhileTheQueueIsEmpty) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(2);
        SharedArray<std::atomic<int>> got(1);
        ChildProcess getter = fork_child([&] {
          const auto value = queue.get();
          got[0] = 1;
          return value == 42 ? 0 : 3;
        });
        check(wait_until_asleep(getter.pid()),
              "a get() on an empty queue must sleep in the kernel; the getter stayed in state '" +
                  std::string(1, state_of(getter.pid())) + "' (spinning?)");
        check(got[0] == 0, "get() returned from an empty queue");
        queue.put(42);
        const kata::ExitStatus status = getter.wait();
        check(status.success(), "the getter did not get 42: it " + status.describe());
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, GetForGivesUpAfterTheTimeout) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(2);
        const auto start = std::chrono::steady_clock::now();
        check(!queue.get_for(100ms).has_value(), "get_for() on an empty queue returned a value");
        check(std::chrono::steady_clock::now() - start >= 100ms,
              "get_for(100ms) returned nullopt before 100 ms had passed");
        check(!queue.get_for(0ms).has_value(), "get_for(0ms) on an empty queue returned a value");
        queue.put(7);
        check(queue.get_for(0ms) == 7, "get_for(0ms) missed a message already in the queue");
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, GetForReturnsAMessagePutWhileItWaits) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(2);
        ChildProcess getter = fork_child([&] { return queue.get_for(60s) == 42 ? 0 : 3; });
        check(wait_until_asleep(getter.pid()), "get_for() on an empty queue did not sleep");
        queue.put(42);
        const kata::ExitStatus status = getter.wait();
        check(status.success(),
              "get_for() did not return the 42 put while it waited: it " + status.describe());
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, AfterCloseGetDrainsThenReturnsNulloptAndPutThrows) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(4);
        queue.put(1);
        queue.put(2);
        queue.close();
        queue.close();  // idempotent
        bool threw = false;
        try {
          queue.put(3);
        } catch (const kata::QueueClosed&) {
          threw = true;
        }
        check(threw, "put() after close() must throw kata::QueueClosed");
        check(queue.get() == 1 && queue.get() == 2, "close() lost the messages already in");
        check(!queue.get().has_value(), "get() on a closed, empty queue must return nullopt");
        check(!queue.get_for(60s).has_value(), "get_for() on a closed, empty queue must not wait");
        return std::string("ok");
      },
      10s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, CloseWakesGettersAsleepInOtherProcesses) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(2);
        std::vector<ChildProcess> getters;
        for (int i = 0; i < 2; ++i) {
          getters.push_back(fork_child([&] { return queue.get().has_value() ? 3 : 0; }));
        }
        for (auto& getter : getters) {
          check(wait_until_asleep(getter.pid()), "a get() on an empty queue did not sleep");
        }
        queue.close();
        wait_all(getters, "a getter asleep when the queue closed did not get nullopt: it");
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, CloseWakesPuttersAsleepInOtherProcesses) {
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(1);
        queue.put(0);  // full
        std::vector<ChildProcess> putters;
        for (int i = 0; i < 2; ++i) {
          putters.push_back(fork_child([&] {
            try {
              queue.put(1);
            } catch (const kata::QueueClosed&) {
              return 0;
            }
            return 3;
          }));
        }
        for (auto& putter : putters) {
          check(wait_until_asleep(putter.pid()), "a put() on a full queue did not sleep");
        }
        queue.close();
        wait_all(putters, "a putter asleep when the queue closed did not throw QueueClosed: it");
        check(queue.get() == 0 && !queue.get().has_value(),
              "a closed queue must give what was in it, then nullopt");
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, APutKilledAtItsWakeUpCallLeavesNoGetterAsleepBesideAMessage) {
  // A put() that publishes its message, then wakes the getters, strands a
  // getter asleep beside the message if it dies between the two. Wake first.
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(4);
        ChildProcess getter = fork_child([&queue] { return queue.get() == 7 ? 0 : 3; });
        check(wait_until_asleep(getter.pid()), "a get() on an empty queue did not sleep");
        ChildProcess putter = fork_child([&queue] {
          die_at_the_first_futex_call();
          queue.put(42);
          return 0;
        });
        check_died_in_its_wake_up_call(putter, "a put() with a getter asleep");
        check(state_of(getter.pid()) == 'S', "the getter woke up although nobody woke it");
        const auto stray = queue.get_for(0ms);
        check(!stray.has_value(),
              "put() published " + std::to_string(stray.value_or(0)) +
                  " before waking the getter asleep in get(): killed between the two, it left "
                  "the getter asleep beside the message");
        queue.put(7);
        const auto status = getter.wait_for(10s);
        check(status.has_value(),
              "after a put() died in its wake-up call, a getter asleep in get() never got the "
              "next message: is a slot claimed by a dead process skipped?");
        check(status->success(), "the getter did not get 7: it " + status->describe());
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

TEST_F(ShmQueueTest, AGetKilledAtItsWakeUpCallLeavesNoPutterAsleepBesideAFreeSlot) {
  // The mirror image: a get() that frees the slot, then wakes the putters.
  const auto outcome = run_with_deadline(
      [] {
        kata::ShmQueue queue(1);
        queue.put(1);  // full
        ChildProcess putter = fork_child([&queue] {
          queue.put(2);
          return 0;
        });
        check(wait_until_asleep(putter.pid()), "a put() on a full queue did not sleep");
        ChildProcess getter = fork_child([&queue] {
          die_at_the_first_futex_call();
          (void)queue.get();
          return 0;
        });
        check_died_in_its_wake_up_call(getter, "a get() with a putter asleep");
        // Whatever the dead getter took or left, one look at the queue (which
        // may find the dead process's claim) must let the putter finish.
        (void)queue.get_for(0ms);
        const auto status = putter.wait_for(10s);
        check(status.has_value(),
              "after a get() died in its wake-up call, a putter asleep in put() never "
              "finished: it sleeps beside a free slot");
        check(status->success(), "the putter " + status->describe());
        return std::string("ok");
      },
      20s);
  EXPECT_EQ(outcome.describe(), kPassed);
}

// The heart of the exercise: producers SIGKILLed at random instants, many rounds.
// A producer's puts are sequential, so what arrived from it must be its messages
// 0..K-1, each once. Every put that returned must arrive; the producer counts them
// in shared memory right after each return, and may die before counting one that
// returned (+1) and inside a put that published its message but never returned
// (+1). So, per producer: counted <= K <= counted + 2.
class KillRound {
 public:
  static constexpr std::int64_t kProducers = 3;
  // A producer that gets this far stops and waits for its SIGKILL, so that a
  // consumer process can count its messages in a fixed shared array.
  static constexpr std::int64_t kMostPerProducer = 1 << 16;

  // `received` is reused from round to round: freeing megabytes every round
  // would make fork() ever slower under AddressSanitizer, which keeps freed
  // memory mapped for a while.
  KillRound(kata::ShmQueue& queue, SharedArray<std::atomic<std::int64_t>>& returned,
            std::vector<std::vector<std::int64_t>>& received, int round)
      : queue_(queue), returned_(returned), round_(round), received_(received) {
    received_.resize(kProducers);
    for (auto& messages : received_) {
      messages.clear();
    }
    for (std::int64_t p = 0; p < kProducers; ++p) {
      returned_[static_cast<std::size_t>(p)] = 0;
      const std::int64_t id = first_id() + p;
      producers_.push_back(fork_child([&queue, &returned, id, p] {
        for (std::int64_t i = 0; i < kMostPerProducer; ++i) {
          queue.put(encode(id, i));
          returned[static_cast<std::size_t>(p)] = i + 1;
        }
        for (;;) {
          ::pause();
        }
        return 0;
      }));
    }
  }

  ChildProcess& producer(std::size_t p) { return producers_[p]; }

  // Waits (a second at most) until producer p's first put returned: killing it
  // while it is still starting up would hit no put at all.
  void wait_until_putting(std::size_t p) {
    for (int tries = 0; tries < 20'000 && returned_[p].load() == 0; ++tries) {
      std::this_thread::sleep_for(50us);
    }
  }

  void kill(std::size_t p) {
    producers_[p].kill(SIGKILL);
    const kata::ExitStatus status = producers_[p].wait();
    check(status.signaled(), "a producer ended by itself: " + status.describe());
  }

  // Records one message; false (and a reason in error()) if no producer of this round put it.
  bool take(std::int64_t message) {
    const std::int64_t p = producer_of(message) - first_id();
    if (p < 0 || p >= kProducers) {
      error_ = "round " + std::to_string(round_) + ": got " + std::to_string(message) +
               ", a message no producer of this round put (left over, duplicated or invented)";
      return false;
    }
    received_[static_cast<std::size_t>(p)].push_back(sequence_of(message));
    return true;
  }
  const std::string& error() const { return error_; }

  // The ids of this round's producers: never repeated across rounds.
  std::int64_t first_id() const { return round_ * kProducers; }

  // After every producer is dead: drain what is left, and check what arrived.
  void check_after_the_kills() {
    while (const auto message = queue_.get_for(0ms)) {
      check(take(*message), error_);
    }
    for (std::size_t p = 0; p < received_.size(); ++p) {
      const std::string who =
          "round " + std::to_string(round_) + ", producer " + std::to_string(p) + ": ";
      auto& got = received_[p];
      std::sort(got.begin(), got.end());
      for (std::size_t k = 0; k < got.size(); ++k) {
        if (got[k] != static_cast<std::int64_t>(k)) {
          fail(who + "its messages 0.." + std::to_string(got.size() - 1) +
               " should each arrive once, but message " + std::to_string(k) +
               " is missing or came twice");
        }
      }
      const std::int64_t counted = returned_[p].load();
      const auto arrived = static_cast<std::int64_t>(got.size());
      check(arrived >= counted, who + std::to_string(counted) + " puts returned but only " +
                                    std::to_string(arrived) +
                                    " messages arrived: a put that returned was lost");
      check(arrived <= counted + 2, who + std::to_string(arrived) + " messages arrived but only " +
                                        std::to_string(counted) +
                                        " puts returned: messages out of nothing");
    }
  }

 private:
  kata::ShmQueue& queue_;
  SharedArray<std::atomic<std::int64_t>>& returned_;
  int round_;
  std::vector<ChildProcess> producers_;
  std::vector<std::vector<std::int64_t>>& received_;
  std::string error_;
};

// AddressSanitizer makes every fork and every message several times slower; it
// checks the memory accesses, the normal build checks the odds.
#if defined(__SANITIZE_ADDRESS__)
constexpr int kKillRounds = 60;
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
constexpr int kKillRounds = 60;
#else
constexpr int kKillRounds = 300;
#endif
#else
constexpr int kKillRounds = 300;
#endif

// Consumers in other processes, blocked in get() with no timeout: a wake-up
// missed anywhere leaves them asleep beside messages, and nothing else would
// ever wake them. They count what they get in `arrived` (producer p's message
// i at p * kMostPerProducer + i), `strays` and `total`.
struct BlockedConsumers {
  static constexpr std::int64_t kConsumers = 2;
  static constexpr auto kSize =
      static_cast<std::size_t>(KillRound::kProducers * KillRound::kMostPerProducer);
  SharedArray<std::atomic<int>> arrived{kSize};
  SharedArray<std::atomic<std::int64_t>> strays{1};
  SharedArray<std::atomic<std::int64_t>> total{1};
  std::vector<ChildProcess> consumers;

  void start(kata::ShmQueue& queue, std::int64_t first_id) {
    for (std::size_t k = 0; k < arrived.size(); ++k) {
      arrived[k] = 0;
    }
    strays[0] = 0;
    total[0] = 0;
    for (std::int64_t c = 0; c < kConsumers; ++c) {
      consumers.push_back(fork_child([this, &queue, first_id] {
        while (const auto message = queue.get()) {
          const std::int64_t p = producer_of(*message) - first_id;
          const std::int64_t i = sequence_of(*message);
          if (p < 0 || p >= KillRound::kProducers || i >= KillRound::kMostPerProducer) {
            ++strays[0];
          } else {
            ++arrived[static_cast<std::size_t>(p * KillRound::kMostPerProducer + i)];
          }
          ++total[0];
        }
        return 0;
      }));
    }
  }

  // After the kills: every put that returned must reach a consumer with no help
  // (10 s at most), then close() must end every get(); then what arrived goes to
  // the round's tally.
  void finish(kata::ShmQueue& queue, KillRound& kills, std::int64_t owed, int round) {
    const std::string where = "round " + std::to_string(round) + ": ";
    for (int tries = 0; tries < 10'000 && total[0].load() < owed; ++tries) {
      std::this_thread::sleep_for(1ms);
    }
    check(total[0].load() >= owed,
          where + "consumers blocked in get() got " + std::to_string(total[0].load()) +
              " messages, but " + std::to_string(owed) +
              " puts returned: they sleep beside the others (a missed wake-up)");
    queue.close();
    for (auto& consumer : consumers) {
      const auto status = consumer.wait_for(10s);
      check(status.has_value(), where + "a consumer blocked in get() did not return after close()");
      check(status->success(), where + "a consumer " + status->describe());
    }
    consumers.clear();
    check(strays[0].load() == 0,
          where +
              "consumers got messages no producer of this round put (left over, "
              "duplicated or invented)");
    for (std::size_t k = 0; k < arrived.size(); ++k) {
      const auto p = static_cast<std::int64_t>(k) / KillRound::kMostPerProducer;
      const auto i = static_cast<std::int64_t>(k) % KillRound::kMostPerProducer;
      for (int n = 0; n < arrived[k].load(); ++n) {
        check(kills.take(encode(kills.first_id() + p, i)), kills.error());
      }
    }
  }
};

TEST_F(ShmQueueTest, ProducersKilledAtRandomMomentsNeverWedgeLoseDuplicateOrInventMessages) {
  const auto outcome = run_with_deadline(
      [] {
        constexpr int kRounds = kKillRounds;
        kata::ShmQueue roomy(1 << 14);  // producers rarely wait: killed while putting
        kata::ShmQueue tight(8);        // producers mostly wait: killed while asleep
        SharedArray<std::atomic<std::int64_t>> returned(KillRound::kProducers);
        BlockedConsumers blocked;
        std::mt19937 random(2024);
        std::vector<std::vector<std::int64_t>> received;
        std::vector<std::size_t> order{0, 1, 2};
        for (int round = 0; round < kRounds; ++round) {
          // Three kinds of round: killed while putting with a consumer thread
          // that polls; killed while asleep on a full queue; killed while
          // putting with consumer processes blocked in get() on a fresh queue,
          // which is closed after the drain.
          const int kind = round % 3;
          std::unique_ptr<kata::ShmQueue> fresh;
          if (kind == 2) {
            fresh = std::make_unique<kata::ShmQueue>(64);
            blocked.start(*fresh, round * KillRound::kProducers);
          }
          kata::ShmQueue& queue = kind == 0 ? roomy : kind == 1 ? tight : *fresh;
          KillRound kills(queue, returned, received, round);
          std::shuffle(order.begin(), order.end(), random);
          // Kills each producer after a random pause, aiming at one on a CPU.
          const auto kill_while_putting = [&] {
            for (const std::size_t victim : order) {
              kills.wait_until_putting(victim);
              std::this_thread::sleep_for(
                  std::chrono::microseconds(std::uniform_int_distribution<int>(0, 300)(random)));
              for (int tries = 0; tries < 100 && state_of(kills.producer(victim).pid()) != 'R';
                   ++tries) {
              }
              kills.kill(victim);
            }
          };
          if (kind == 0) {
            // A thread keeps the queue moving while this one kills.
            std::atomic<bool> all_dead{false};
            std::thread consumer([&] {
              for (;;) {
                const auto message = queue.get_for(5ms);
                if (message && !kills.take(*message)) {
                  return;
                }
                if (!message && all_dead) {
                  return;  // empty, and nobody left to put
                }
              }
            });
            kill_while_putting();
            all_dead = true;
            consumer.join();
            check(kills.error().empty(), kills.error());
          } else if (kind == 1) {
            // Killed while asleep in put() on a full queue.
            for (const std::size_t victim : order) {
              const int gets = std::uniform_int_distribution<int>(0, 12)(random);
              for (int g = 0; g < gets; ++g) {
                const auto message = queue.get();
                check(message.has_value(), "get() returned nullopt on an open queue");
                check(kills.take(*message), kills.error());
              }
              check(wait_until_asleep(kills.producer(victim).pid()),
                    "a producer on a full queue never went to sleep");
              kills.kill(victim);
            }
          } else {
            kill_while_putting();
            std::int64_t owed = 0;
            for (std::size_t p = 0; p < returned.size(); ++p) {
              owed += returned[p].load();
            }
            blocked.finish(queue, kills, owed, round);
          }
          kills.check_after_the_kills();
        }
        // Both are still working queues, in this process and in a new one.
        for (kata::ShmQueue* queue : {&roomy, &tight}) {
          queue->put(-1);
          check(queue->get() == -1, "after the kills a put() then get() failed");
          ChildProcess fresh = fork_child([queue] {
            queue->put(-2);
            return 0;
          });
          check(queue->get() == -2, "after the kills a new producer's message did not arrive");
          check(fresh.wait().success(), "after the kills a new producer failed");
        }
        return std::string("ok");
      },
      55s);  // ctest's deadline is 60 s: a hang fails here first, with a message
  EXPECT_EQ(outcome.describe(), kPassed);
}

}  // namespace
