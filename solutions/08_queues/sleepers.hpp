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

}  // namespace kata
