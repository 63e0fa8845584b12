// Processes asleep on a futex word, and the count that lets a waker skip the
// system call when nobody sleeps. Header-only, for shm_queue.cpp.
#pragma once

#include "process_watch.hpp"

#include <kata/errors.hpp>

#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <climits>
#include <cstdint>
#include <ctime>
#include <optional>

namespace kata {

// Lives in shared memory; all zeros is a valid start. Every operation on it is
// sequentially consistent: a sleeper registers, then looks at the queue; a
// waker changes the queue, then looks at the registrations. In the one order of
// all such operations, either the sleeper's look comes after the change, or the
// waker's look comes after the registration.
//
// Why a table of pids and not a count: a process killed while registered would
// stay counted for good, and every later waker would pay a needless FUTEX_WAKE.
// (The kill test found it: producers killed asleep slowed each get() down, the
// queue filled, more producers were killed asleep...) A table says who sleeps,
// so a waker whose wake found nobody in the kernel can clear the dead.
struct Sleepers {
  static constexpr int kEntries = 64;                     // one bit each in `registered`
  static constexpr std::uint32_t kReclaiming = 1U << 31;  // | the pid clearing a dead entry

  // Counts wakes. A sleeper reads it before its last look at the queue and
  // sleeps only while it still holds that value, checked by the kernel, so a
  // wake between the look and the sleep is never missed.
  std::atomic<std::uint32_t> events;
  // Bit i: entry i holds a registered sleeper. Wakers read only this word.
  std::atomic<std::uint64_t> registered;
  // Wakes that found nobody in the kernel: every 16th clears the dead.
  std::atomic<std::uint32_t> empty_wakes;
  // Entry i: the pid of its sleeper, 0 when free.
  std::atomic<std::uint32_t> sleeper[kEntries];

  static_assert(sizeof(std::atomic<std::uint32_t>) == sizeof(std::uint32_t) &&
                std::atomic<std::uint32_t>::is_always_lock_free);

  struct Ticket {
    int entry;           // -1: the table was full, sleep with a timeout
    std::uint32_t seen;  // the event count to pass to sleep()
  };

  // Takes a free entry and its bit: the pid first, so that a process killed
  // between the two leaves an entry the next clean-up finds, never a bit
  // without a name. Then reads the event count, before the caller's last look.
  Ticket register_sleeper(std::uint32_t me) {
    for (int i = 0; i < kEntries; ++i) {
      std::uint32_t free = 0;
      if (sleeper[i].load(std::memory_order_relaxed) == 0 &&
          sleeper[i].compare_exchange_strong(free, me)) {
        registered.fetch_or(std::uint64_t{1} << i);
        return {i, events.load()};
      }
    }
    return {-1, events.load()};
  }

  void unregister_sleeper(const Ticket& ticket) {
    if (ticket.entry >= 0) {
      registered.fetch_and(~(std::uint64_t{1} << ticket.entry));
      sleeper[ticket.entry].store(0);
    }
  }

  // Sleeps while no wake came since `seen`, at most `timeout` if there is one.
  // FUTEX_WAIT, not FUTEX_WAIT_PRIVATE: the private flag keys the sleep on this
  // process's address space, and a wake from another process would never find it.
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
    if (::syscall(SYS_futex, word(), FUTEX_WAIT, seen, timeout ? &relative : nullptr, nullptr, 0) ==
        -1) {
      // EAGAIN: a wake came before we slept. EINTR: a signal. ETIMEDOUT: the
      // timeout. The caller looks at the queue again in all three.
      if (errno != EAGAIN && errno != EINTR && errno != ETIMEDOUT) {
        throw_errno("ShmQueue: futex(FUTEX_WAIT)");
      }
    }
  }

  // Wakes every sleeper, if anyone is registered: the common case makes no
  // system call. Every sleeper, not one: the one the kernel picked could be
  // killed before it acts, and the others would sleep on.
  void wake_all_if_any() {
    if (registered.load() == 0) {
      return;
    }
    events.fetch_add(1);
    const long woken = ::syscall(SYS_futex, word(), FUTEX_WAKE, INT_MAX, nullptr, nullptr, 0);
    if (woken == -1) {
      throw_errno("ShmQueue: futex(FUTEX_WAKE)");
    }
    // Nobody was in the kernel: the registered are about to sleep or just
    // woke, or they are dead. Now and then, look (three system calls a pid).
    if (woken == 0 && empty_wakes.fetch_add(1) % 16 == 15) {
      clear_the_dead(this_process());
    }
  }

  // Frees the entries of processes that died registered, or died clearing one.
  void clear_the_dead(std::uint32_t me) {
    for (int i = 0; i < kEntries; ++i) {
      std::uint32_t owner = sleeper[i].load();
      if (owner == 0 || !has_ended(owner & ~kReclaiming)) {
        continue;
      }
      // One clearer per entry: the compare-and-swap names it, so a clearer
      // killed halfway is cleared in turn, and two never free an entry a new
      // sleeper has taken meanwhile.
      if (sleeper[i].compare_exchange_strong(owner, me | kReclaiming)) {
        registered.fetch_and(~(std::uint64_t{1} << i));
        sleeper[i].store(0);
      }
    }
  }

 private:
  std::uint32_t* word() { return reinterpret_cast<std::uint32_t*>(&events); }
};

}  // namespace kata
