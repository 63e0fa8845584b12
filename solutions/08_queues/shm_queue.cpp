// Reference solution: a bounded queue in shared memory that outlives any of its
// processes. A robust mutex guards state that is whole after every single store,
// and sleepers wait on futex words that count events.
#include "queues.hpp"

#include <kata/errors.hpp>

#include <linux/futex.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <climits>
#include <cstdint>
#include <ctime>
#include <memory>
#include <new>

namespace kata {

namespace {

using Clock = std::chrono::steady_clock;  // CLOCK_MONOTONIC, the clock of FUTEX_WAIT's timeout

// A futex word: 32 bits the kernel reads, shared by every process that maps it.
using FutexWord = std::atomic<std::uint32_t>;
static_assert(sizeof(FutexWord) == sizeof(std::uint32_t) && FutexWord::is_always_lock_free);

std::uint32_t* address_of(FutexWord& word) {
  return reinterpret_cast<std::uint32_t*>(&word);
}

// Sleeps while `word` still holds `seen`, at most until `deadline` if there is one.
// FUTEX_WAIT, not FUTEX_WAIT_PRIVATE: the private flag keys the sleep on this
// process's address space, and a wake from another process would never find it.
void sleep_while_unchanged(FutexWord& word, std::uint32_t seen, const Clock::time_point* deadline) {
  timespec timeout{};
  if (deadline != nullptr) {
    const auto left = *deadline - Clock::now();
    if (left <= Clock::duration::zero()) {
      return;
    }
    const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(left).count();
    timeout.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
    timeout.tv_nsec = static_cast<long>(ns % 1'000'000'000);
  }
  if (::syscall(SYS_futex, address_of(word), FUTEX_WAIT, seen,
                deadline != nullptr ? &timeout : nullptr, nullptr, 0) == -1) {
    // EAGAIN: the word changed before we slept (the wake we would have missed).
    // EINTR: a signal. ETIMEDOUT: the deadline. The caller looks again in all three.
    if (errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
      throw_errno("ShmQueue: futex(FUTEX_WAIT)");
    }
  }
}

void wake_every_sleeper(FutexWord& word) {
  if (::syscall(SYS_futex, address_of(word), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0) == -1) {
    throw_errno("ShmQueue: futex(FUTEX_WAKE)");
  }
}

void init_robust_shared_mutex(pthread_mutex_t& mutex) {
  pthread_mutexattr_t attributes;
  int error = ::pthread_mutexattr_init(&attributes);
  if (error != 0) {
    throw_errno("ShmQueue: pthread_mutexattr_init", error);
  }
  // Shared: other processes lock it through their own mapping of these pages.
  // Robust: when the owner dies holding it, the next pthread_mutex_lock() returns
  // EOWNERDEAD with the lock instead of blocking forever.
  // Priority inheritance: the kernel keeps the list of waiters and hands the
  // lock straight to the next one. With a plain futex mutex a waiter woken and
  // killed before it takes the lock can strand the other waiters asleep beside
  // a free lock (the kill test caught it: about 1 run in 10).
  error = ::pthread_mutexattr_setpshared(&attributes, PTHREAD_PROCESS_SHARED);
  if (error == 0) {
    error = ::pthread_mutexattr_setrobust(&attributes, PTHREAD_MUTEX_ROBUST);
  }
  if (error == 0) {
    error = ::pthread_mutexattr_setprotocol(&attributes, PTHREAD_PRIO_INHERIT);
  }
  if (error == 0) {
    error = ::pthread_mutex_init(&mutex, &attributes);
  }
  ::pthread_mutexattr_destroy(&attributes);
  if (error != 0) {
    throw_errno("ShmQueue: robust process-shared mutex", error);
  }
}

// Holds the robust mutex for one scope.
class Locked {
 public:
  explicit Locked(pthread_mutex_t& mutex) : mutex_(mutex) {
    const int error = ::pthread_mutex_lock(&mutex_);
    if (error == EOWNERDEAD) {
      // A process died holding the lock. There is nothing to repair: every change
      // it made is one whole store, and it woke its sleepers before making it.
      // Saying so is required: unlocking without it makes the mutex unusable
      // (ENOTRECOVERABLE) for every process.
      const int still = ::pthread_mutex_consistent(&mutex_);
      if (still != 0) {
        ::pthread_mutex_unlock(&mutex_);
        throw_errno("ShmQueue: pthread_mutex_consistent", still);
      }
    } else if (error != 0) {
      throw_errno("ShmQueue: pthread_mutex_lock", error);
    }
  }
  ~Locked() { ::pthread_mutex_unlock(&mutex_); }
  Locked(const Locked&) = delete;
  Locked& operator=(const Locked&) = delete;

 private:
  pthread_mutex_t& mutex_;
};

}  // namespace

// The queue's state, at the start of the mapping; the slots follow it. The mutex
// guards every field. A process may be SIGKILLed between any two instructions,
// so every change others may see is ONE aligned store:
//   head, tail  gets and puts since the start. They only grow; the messages are
//               slots head..tail-1 (mod capacity). A slot is written before the
//               release store of tail that publishes it.
//   *_events    futex words that count events; sleepers wait for them to change.
//   *_asleep    sleepers registered on each word since its last wake. A process
//               killed asleep stays counted: a harmless extra wake, never a lost one.
struct ShmQueue::Shared {
  pthread_mutex_t mutex;
  std::uint64_t capacity;
  std::atomic<std::uint64_t> head;
  std::atomic<std::uint64_t> tail;
  bool closed;
  FutexWord not_empty_events;
  FutexWord not_full_events;
  std::uint32_t getters_asleep;
  std::uint32_t putters_asleep;

  std::int64_t& slot(std::uint64_t index) {
    return reinterpret_cast<std::int64_t*>(this + 1)[index % capacity];
  }

  // Wakes the sleepers on `events`, under the mutex and BEFORE the store that
  // makes their news true. A woken sleeper must take the mutex to look, so it sees
  // the news when we unlock, or, if we are killed first, when the kernel hands it
  // the dead owner's lock (EOWNERDEAD). Waking after the unlock would leave a
  // window where a kill strands it asleep beside a message. Every sleeper wakes,
  // not one: a chosen one could be killed before it acts, and the others would
  // sleep on beside a free slot or a message.
  static void wake(FutexWord& events, std::uint32_t& asleep) {
    if (asleep == 0) {
      return;  // the common case: no system call at all
    }
    events.store(events.load(std::memory_order_relaxed) + 1, std::memory_order_relaxed);
    wake_every_sleeper(events);
    asleep = 0;  // after the wake: killed before it, they stay counted
  }

  std::optional<std::int64_t> get(const Clock::time_point* deadline) {
    for (;;) {
      std::uint32_t seen = 0;
      {
        const Locked lock(mutex);
        const std::uint64_t first = head.load(std::memory_order_relaxed);
        if (first != tail.load(std::memory_order_relaxed)) {
          const std::int64_t value = slot(first);
          wake(not_full_events, putters_asleep);
          head.store(first + 1, std::memory_order_release);  // one store takes it
          return value;
        }
        if (closed || (deadline != nullptr && Clock::now() >= *deadline)) {
          return std::nullopt;
        }
        // Read the word while holding the mutex: a put after our unlock changes
        // it, and FUTEX_WAIT then returns at once instead of sleeping through it.
        seen = not_empty_events.load(std::memory_order_relaxed);
        ++getters_asleep;
      }
      sleep_while_unchanged(not_empty_events, seen, deadline);
    }
  }

  void put(std::int64_t value) {
    for (;;) {
      std::uint32_t seen = 0;
      {
        const Locked lock(mutex);
        if (closed) {
          throw QueueClosed("ShmQueue::put: the queue is closed");
        }
        const std::uint64_t end = tail.load(std::memory_order_relaxed);
        if (end - head.load(std::memory_order_relaxed) < capacity) {
          slot(end) = value;  // invisible until the tail moves: a kill here loses nothing
          wake(not_empty_events, getters_asleep);
          tail.store(end + 1, std::memory_order_release);  // one store publishes it
          return;
        }
        seen = not_full_events.load(std::memory_order_relaxed);
        ++putters_asleep;
      }
      sleep_while_unchanged(not_full_events, seen, nullptr);
    }
  }

  void close() {
    const Locked lock(mutex);
    wake(not_empty_events, getters_asleep);
    wake(not_full_events, putters_asleep);
    closed = true;
  }
};

ShmQueue::ShmQueue(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("ShmQueue: the capacity must be at least 1");
  }
  if (capacity > (SIZE_MAX - sizeof(Shared)) / sizeof(std::int64_t)) {
    throw std::invalid_argument("ShmQueue: capacity " + std::to_string(capacity) + " is too large");
  }
  mapping_bytes_ = sizeof(Shared) + capacity * sizeof(std::int64_t);
  // MAP_SHARED: processes forked from now on share these pages instead of
  // getting copies. Anonymous memory starts zeroed.
  void* memory =
      ::mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw_errno("ShmQueue: mmap of " + std::to_string(mapping_bytes_) + " bytes");
  }
  const auto unmap = [this](void* pages) { ::munmap(pages, mapping_bytes_); };
  std::unique_ptr<void, decltype(unmap)> mapping(memory, unmap);  // until the state is ready
  Shared* shared = new (memory) Shared{};
  shared->capacity = capacity;
  init_robust_shared_mutex(shared->mutex);
  shared_ = shared;
  mapping.release();
}

ShmQueue::~ShmQueue() {
  // This process's view only. The mutex is not destroyed: other processes may
  // still use it, and the pages go when the last process unmaps them.
  ::munmap(shared_, mapping_bytes_);
}

void ShmQueue::put(std::int64_t value) {
  shared_->put(value);
}

std::optional<std::int64_t> ShmQueue::get() {
  return shared_->get(nullptr);
}

std::optional<std::int64_t> ShmQueue::get_for(std::chrono::milliseconds timeout) {
  const Clock::time_point deadline = Clock::now() + std::max(timeout, std::chrono::milliseconds(0));
  return shared_->get(&deadline);
}

void ShmQueue::close() {
  shared_->close();
}

}  // namespace kata
