// Reference solution: a bounded queue in shared memory that outlives any of its
// processes, with no lock at all. Each slot carries one 64-bit word that says
// whose turn it is and who is working on it; sleepers wait on futex words that
// count events, and only when there is nobody to hand work to. README.md walks
// through every instant a process can die here.
#include "queues.hpp"

#include <kata/errors.hpp>

#include <linux/futex.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <sys/types.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <new>
#include <optional>
#include <string>
#include <system_error>

namespace kata {

// ------------------------------------------------------------ processes

// Who is this process, and has that one ended? A claim in shared memory names
// its process, and a waiter asks about it.

namespace process_watch_detail {
inline std::atomic<pid_t> cached_pid{0};
inline void forget_pid() {
  cached_pid.store(0, std::memory_order_relaxed);
}
}  // namespace process_watch_detail

// getpid(), without its system call on every put and get. glibc does not cache
// the pid (since 2.25), so we do, and forget it in every child of fork(): a child
// must never claim a slot in its parent's name.
inline std::uint32_t this_process() {
  using namespace process_watch_detail;
  static const int registered = ::pthread_atfork(nullptr, nullptr, forget_pid);
  if (registered != 0) {
    throw std::system_error(registered, std::generic_category(), "ShmQueue: pthread_atfork");
  }
  pid_t pid = cached_pid.load(std::memory_order_relaxed);
  if (pid == 0) {
    pid = ::getpid();
    cached_pid.store(pid, std::memory_order_relaxed);
  }
  return static_cast<std::uint32_t>(pid);
}

// True once process `pid` has ended, including a zombie its parent has not yet
// reaped (kill(pid, 0) still succeeds on one; a parent waiting in get() for a
// message from the child it has not reaped would wait forever). A pidfd becomes
// readable when its process exits. A pid reused by a new process reads as
// alive: the slot waits until that one ends too.
inline bool has_ended(std::uint32_t pid) {
  const auto target = static_cast<pid_t>(pid);
  const int pidfd = static_cast<int>(::syscall(SYS_pidfd_open, target, 0));
  if (pidfd == -1) {
    if (errno == ESRCH) {
      return true;  // gone and reaped
    }
    // No pidfd here (EMFILE, or a kernel before 5.3): kill() at least knows a reaped one.
    return ::kill(target, 0) == -1 && errno == ESRCH;
  }
  pollfd exited{pidfd, POLLIN, 0};
  int ready = 0;
  do {
    ready = ::poll(&exited, 1, 0);
  } while (ready == -1 && errno == EINTR);
  ::close(pidfd);
  return ready > 0;
}

// ------------------------------------------------------------- sleepers

// Processes asleep on a futex word, and the count that lets a waker skip the
// system call when nobody sleeps.

// One futex word in shared memory, all zeros at the start:
//   bit 0       someone may be asleep (or about to sleep) on the word;
//   bits 1..31  a count of wakes.
// A sleeper sets bit 0, takes a last look at the queue, and sleeps only while
// the word still holds what it set, checked by the kernel. A waker that finds
// bit 0 set adds 1 and wakes everyone in ONE system call (FUTEX_WAKE_OP): the
// add carries bit 0 into the count, so it clears the bit and counts the wake.
// A system call is never cut in half by SIGKILL, so no waker can die between
// clearing the bit and waking the sleepers. A sleeper killed with the bit set
// costs the next waker one needless wake, which clears it.
//
// Every access is sequentially consistent: a sleeper sets the bit, then looks
// at the queue; a waker changes the queue, then looks at the bit. In the one
// order of all such operations, either the sleeper's look comes after the
// change, or the waker's look comes after the bit.
struct Sleepers {
  std::atomic<std::uint32_t> word;

  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                std::atomic<std::uint32_t>::is_always_lock_free);

  // Returns the value to pass to sleep(), to call before the last look.
  std::uint32_t register_sleeper() { return word.fetch_or(1) | 1; }

  // Sleeps while no wake came since register_sleeper() returned `seen`, at
  // most `timeout` if there is one. FUTEX_WAIT, not FUTEX_WAIT_PRIVATE: the
  // private flag keys the sleep on this process's address space, and a wake
  // from another process would never find it.
  void sleep(std::uint32_t seen, std::optional<std::chrono::steady_clock::duration> timeout) {
    timespec relative{};
    if (timeout) {
      if (*timeout <= std::chrono::steady_clock::duration::zero()) {
        return;
      }
      const auto ns = std::chrono::duration_cast<std::chrono::nanoseconds>(*timeout).count();
      relative.tv_sec = static_cast<time_t>(ns / 1'000'000'000);
      relative.tv_nsec = static_cast<long>(ns % 1'000'000'000);
    }
    if (::syscall(SYS_futex, address(), FUTEX_WAIT, seen, timeout ? &relative : nullptr, nullptr,
                  0) == -1) {
      // EAGAIN: a wake came before we slept. EINTR: a signal. ETIMEDOUT: the
      // timeout. The caller looks at the queue again in all three.
      if (errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
        throw_errno("ShmQueue: futex(FUTEX_WAIT)");
      }
    }
  }

  // Wakes every sleeper, if bit 0 says there may be one: the common case makes
  // no system call. Every sleeper, not one: the one the kernel picked could be
  // killed before it acts, and the others would sleep on. Two wakers at once
  // may both add 1 and leave bit 0 set: one needless wake later, never a lost one.
  void wake_all_if_any() {
    if ((word.load() & 1) == 0) {
      return;
    }
    // In the kernel, atomically: word += 1; wake every waiter on word. (The
    // second word of FUTEX_WAKE_OP is the same word; its wake count is 0.)
    constexpr int kAddOne = FUTEX_OP(FUTEX_OP_ADD, 1, FUTEX_OP_CMP_EQ, 0);
    if (::syscall(SYS_futex, address(), FUTEX_WAKE_OP, INT_MAX, nullptr, address(), kAddOne) ==
        -1) {
      throw_errno("ShmQueue: futex(FUTEX_WAKE_OP)");
    }
  }

 private:
  std::uint32_t* address() { return reinterpret_cast<std::uint32_t*>(&word); }
};

// ---------------------------------------------------------------- queue

namespace {

using Clock = std::chrono::steady_clock;

// How often a process waiting on another one's half-done put, get or close
// looks whether that process has died: the only waits that need a timeout.
constexpr std::chrono::milliseconds kNap{1};

// How many times a waiter looks again before it sleeps: the other side is most
// likely running on another CPU and done within a microsecond, and a sleep would
// cost both sides a system call. About a microsecond of pause instructions.
constexpr int kSpins = 64;

void pause_cpu() {
#if defined(__x86_64__) || defined(__i386__)
  __builtin_ia32_pause();
#elif defined(__aarch64__)
  asm volatile("yield");
#endif
}

// A slot's state word: whose turn it is (low 32 bits) and which process has
// claimed the slot to act on that turn (high 32 bits, 0 for nobody). One word,
// so a claim is one compare-and-swap: there is no instant at which a slot is
// taken by a process the others cannot name.
//
// The turns of position p (puts and gets since the start) are 2p ("waiting for
// its put") and 2p + 1 ("waiting for its get"); a get hands the slot on to
// position p + capacity, turn 2(p + capacity). Two turns per position keep a
// ring of one slot unambiguous.
using SlotState = std::uint64_t;

constexpr SlotState state_of(std::uint32_t turn, std::uint32_t claimer) {
  return std::uint64_t{claimer} << 32 | turn;
}
constexpr std::uint32_t turn_of(SlotState state) {
  return static_cast<std::uint32_t>(state);
}
constexpr std::uint32_t claimer_of(SlotState state) {
  return static_cast<std::uint32_t>(state >> 32);
}
constexpr std::uint32_t put_turn(std::uint64_t position) {
  return static_cast<std::uint32_t>(2 * position);
}
constexpr std::uint32_t get_turn(std::uint64_t position) {
  return static_cast<std::uint32_t>(2 * position + 1);
}
// How far `turn` is past `expected`, right across the wrap of 32 bits.
constexpr std::int32_t turns_ahead(std::uint32_t turn, std::uint32_t expected) {
  return static_cast<std::int32_t>(turn - expected);
}

// The largest capacity whose turns stay far from the wrap of 32 bits.
constexpr std::size_t kMaxCapacity = std::size_t{1} << 29;

// Moves a head or tail that still says `position` on by one. Whoever claims
// the slot at `position` does it, and so does anyone who finds that slot
// claimed or done: a process killed between its claim and this step leaves
// nothing stuck. Unless someone did it already, which the compare sees.
void move_past(std::atomic<std::uint64_t>& counter, std::uint64_t position) {
  counter.compare_exchange_strong(position, position + 1);
}

struct Slot {
  std::atomic<SlotState> state;
  std::atomic<std::int64_t> value;  // written by the claimer, read after the state says so
};
static_assert(std::atomic<SlotState>::is_always_lock_free);

}  // namespace

// The queue's state, at the start of the mapping; the slots follow it. Every
// field is an atomic that others may read at any instant, and every change is
// one atomic instruction, so a process killed between any two leaves a state the
// others understand. Producers and consumers write different cache lines.
struct alignas(64) ShmQueue::Shared {
  // The next position to put and to get. Only hints, which may lag: whoever
  // finds their slot claimed or done moves them on.
  alignas(64) std::atomic<std::uint64_t> tail;
  alignas(64) std::atomic<std::uint64_t> head;
  alignas(64) Sleepers getters;                    // asleep in get(): woken by puts
  alignas(64) Sleepers putters;                    // asleep in put(): woken by gets
  alignas(64) std::atomic<std::uint32_t> closing;  // the pid of the process closing; 0 while open
  std::atomic<std::uint32_t> closed;               // 1 once that process has woken every sleeper
  std::uint64_t capacity;

  Slot& slot(std::uint64_t position) {
    return reinterpret_cast<Slot*>(this + 1)[position % capacity];
  }

  void put(std::int64_t value) {
    const std::uint32_t me = this_process();
    int spins = 0;
    for (;;) {
      if (closing.load() != 0) {
        throw_closed();
      }
      const std::uint64_t position = tail.load(std::memory_order_acquire);
      Slot& at = slot(position);
      SlotState state = at.state.load(std::memory_order_acquire);
      const std::int32_t ahead = turns_ahead(turn_of(state), put_turn(position));
      if (ahead == 0 && claimer_of(state) == 0) {
        if (!at.state.compare_exchange_strong(state, state_of(put_turn(position), me))) {
          continue;  // another producer claimed it first
        }
        move_past(tail, position);
        if (closing.load() != 0) {
          // Closed while we claimed: a getter may already have said "closed and
          // empty", so the message must not appear. Hand the slot on unused.
          at.state.store(state_of(put_turn(position + capacity), 0));
          getters.wake_all_if_any();
          throw_closed();
        }
        at.value.store(value, std::memory_order_relaxed);
        // Wake BEFORE publishing: a getter asleep now saw the slot empty, and
        // if we die between the two it must not sleep on beside a message.
        // Woken, it finds our claim and watches us until we publish or die.
        getters.wake_all_if_any();
        at.state.store(state_of(get_turn(position), 0));  // one store publishes it
        getters.wake_all_if_any();                        // those watching our claim
        return;
      }
      if (ahead >= 0) {  // claimed by another producer, or done: the tail lags
        move_past(tail, position);
        continue;
      }
      wait(at, state, putters, nullptr, spins);  // full, or a get still reading the slot
    }
  }

  std::optional<std::int64_t> get(const Clock::time_point* deadline) {
    const std::uint32_t me = this_process();
    int spins = 0;
    for (;;) {
      const std::uint64_t position = head.load(std::memory_order_acquire);
      Slot& at = slot(position);
      SlotState state = at.state.load(std::memory_order_acquire);
      const std::int32_t ahead = turns_ahead(turn_of(state), get_turn(position));
      if (ahead == 0 && claimer_of(state) == 0) {
        if (!at.state.compare_exchange_strong(state, state_of(get_turn(position), me))) {
          continue;  // another consumer claimed it first
        }
        move_past(head, position);
        const std::int64_t value = at.value.load(std::memory_order_relaxed);
        putters.wake_all_if_any();  // before freeing the slot, as put() does
        at.state.store(state_of(put_turn(position + capacity), 0));  // one store frees it
        putters.wake_all_if_any();
        return value;
      }
      if (ahead >= 0) {  // claimed by another consumer, or done: the head lags
        move_past(head, position);
        continue;
      }
      // Nothing to take here yet. Empty (nobody's claim) and closed: the end;
      // looking at the slot again after `closed` is what makes a put racing
      // with close() either seen here or refused (put() reads `closing` after
      // its claim).
      if (state == state_of(put_turn(position), 0) && closed.load() != 0 &&
          at.state.load() == state) {
        return std::nullopt;
      }
      if (deadline != nullptr && Clock::now() >= *deadline) {
        if (repair(at, state)) {
          continue;  // a dead producer's claim hid what comes after it
        }
        return std::nullopt;
      }
      wait(at, state, getters, deadline, spins);
    }
  }

  void close() {
    if (closed.load() != 0) {
      return;
    }
    std::uint32_t nobody = 0;
    closing.compare_exchange_strong(nobody, this_process());  // or another closer's, finished here
    // As in put(): wake first, then the news. Woken sleepers see `closing`, and
    // watch the closer until it stores `closed` or dies.
    getters.wake_all_if_any();
    putters.wake_all_if_any();
    finish_close();
  }

  void finish_close() {
    closed.store(1);
    getters.wake_all_if_any();
    putters.wake_all_if_any();
  }

  // put() on a closed queue. A closer that died halfway may have left sleepers
  // asleep on a queue they think open: finish its work, then refuse.
  [[noreturn]] void throw_closed() {
    const std::uint32_t closer = closing.load();
    if (closed.load() == 0 && has_ended(closer)) {
      finish_close();
    }
    throw QueueClosed("ShmQueue::put: the queue is closed");
  }

  // When the slot, in `state`, is held up by a process that has died halfway
  // through a put, a get or a close: finishes or undoes its work, and says so.
  bool repair(Slot& at, SlotState state) {
    const std::uint32_t claimer = claimer_of(state);
    if (claimer != 0 && has_ended(claimer)) {
      // It died between its claim and its publish (or free): its put or get
      // never returned. Hand the slot to the next turn, as if it had never
      // been put, or as if it had been got; no message appears or reappears.
      const std::uint32_t next_turn = (turn_of(state) & ~1U) + put_turn(capacity);
      at.state.compare_exchange_strong(state, state_of(next_turn, 0));
      getters.wake_all_if_any();
      putters.wake_all_if_any();
      return true;
    }
    const std::uint32_t closer = closing.load();
    if (closer != 0 && closed.load() == 0 && has_ended(closer)) {
      finish_close();
      return true;
    }
    return false;
  }

  // Called when the slot, in `state`, is not ready for us: spins a little, then
  // sleeps until something changes. Never sleeps without a timeout while a
  // live process is halfway through a put, get or close that it may die in.
  void wait(Slot& at, SlotState state, Sleepers& sleepers, const Clock::time_point* deadline,
            int& spins) {
    if (spins < kSpins) {
      ++spins;
      pause_cpu();
      return;
    }
    if (repair(at, state)) {
      return;
    }
    const std::uint32_t claimer = claimer_of(state);
    const std::uint32_t closer = closing.load();
    const std::uint32_t was_closed = closed.load();
    const bool close_half_done = closer != 0 && was_closed == 0;
    if (was_closed != 0 && claimer == 0) {
      return;  // closed since the caller looked: it has a decision to make, not a sleep
    }
    std::optional<Clock::duration> timeout;
    if (claimer != 0 || close_half_done) {
      timeout = kNap;
    }
    if (deadline != nullptr) {
      const auto left = *deadline - Clock::now();
      timeout = timeout ? std::min(*timeout, left) : left;
    }
    // Say we may sleep, then look again: a waker either changed what we look
    // at before this second look, or sees our bit after its change and wakes
    // us (Sleepers, above, says why one of the two must happen).
    const std::uint32_t seen = sleepers.register_sleeper();
    if (at.state.load() == state && closing.load() == closer && closed.load() == was_closed) {
      sleepers.sleep(seen, timeout);
    }
    spins = 0;  // woken: the other side is busy again, worth a few looks
  }
};

ShmQueue::ShmQueue(std::size_t capacity) : capacity_(capacity) {
  if (capacity == 0) {
    throw std::invalid_argument("ShmQueue: the capacity must be at least 1");
  }
  if (capacity > kMaxCapacity) {
    throw std::invalid_argument("ShmQueue: capacity " + std::to_string(capacity) +
                                " is too large (at most " + std::to_string(kMaxCapacity) + ")");
  }
  mapping_bytes_ = sizeof(Shared) + capacity * sizeof(Slot);
  // MAP_SHARED: processes forked from now on share these pages instead of
  // getting copies. Anonymous memory starts zeroed: every slot in turn 0 of
  // position 0, 2 of position 1, ... is what we store below.
  void* memory =
      ::mmap(nullptr, mapping_bytes_, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw_errno("ShmQueue: mmap of " + std::to_string(mapping_bytes_) + " bytes");
  }
  Shared* shared = new (memory) Shared{};
  shared->capacity = capacity;
  for (std::uint64_t position = 0; position < capacity; ++position) {
    Slot* slot = new (&shared->slot(position)) Slot{};
    slot->state.store(state_of(put_turn(position), 0), std::memory_order_relaxed);
  }
  shared_ = shared;
}

ShmQueue::~ShmQueue() {
  // This process's view only: the pages go when the last process unmaps them.
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
