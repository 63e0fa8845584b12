// Test support: leak checks for fds and child processes, and deadlines.
//
// Every test that starts processes derives its fixture from LeakCheckedTest, and
// runs anything that might hang through run_with_deadline(): a broken implementation
// must fail its test, never hang the run.
#pragma once

#include <kata/shared_memory.hpp>

#include <sys/types.h>

#include <gtest/gtest.h>

#include <cerrno>
#include <chrono>
#include <filesystem>
#include <functional>
#include <memory>
#include <set>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

namespace kata::testing {

// The fds open in this process now (from /proc/self/fd).
[[nodiscard]] std::set<int> open_fds();

// This process's children, running or zombie (from /proc/*/stat).
[[nodiscard]] std::vector<pid_t> child_pids();

// Fails the current test (EXPECT-style) if a child of this process still exists,
// naming each one and its state; then kills and reaps them so that the next test
// starts clean.
void expect_no_children();

// Fails the current test if an fd is open now that was not open in `before`,
// naming each one and what it points to.
void expect_no_new_fds(const std::set<int>& before);

// A fixture that checks, after every test, that the test left no child process
// (running or zombie) and no open fd behind.
class LeakCheckedTest : public ::testing::Test {
 protected:
  void SetUp() override;
  void TearDown() override;

 private:
  std::set<int> fds_before_;
};

// A fresh directory under $TMPDIR (or /tmp), removed with everything in it when
// the object dies.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

 private:
  std::filesystem::path path_;
};

// Writes `contents` to `file`, creating its parent directories; throws on failure.
void write_file(const std::filesystem::path& file, std::string_view contents);

// An array of T in a shared anonymous mapping, for counters that tests read after
// processes forked from it wrote them (how many times each item ran, how many ran
// at once). T must be safe to share between processes: plain integers, or
// lock-free std::atomic. Made before the fork; unmapped when it dies.
template <class T>
class SharedArray {
 public:
  explicit SharedArray(std::size_t size)
      : mapping_(size * sizeof(T)), data_(static_cast<T*>(mapping_.data())), size_(size) {
    std::uninitialized_value_construct_n(data_, size);
  }

  T& operator[](std::size_t i) { return data_[i]; }
  [[nodiscard]] T* data() noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  SharedMapping mapping_;
  T* data_;
  std::size_t size_;
};

// How a body run by run_with_deadline() ended.
struct ChildOutcome {
  bool timed_out = false;  // the deadline passed: the child was killed
  int exit_code = -1;      // the child's exit status, -1 unless it exited
  int signal = 0;          // the signal that killed it, 0 unless killed by one
  std::string output;      // what the body returned, or its exception's message

  // The body returned normally within the deadline.
  [[nodiscard]] bool ok() const { return !timed_out && exit_code == 0; }
  // One line for a failure message: "returned \"...\"", "timed out after 2000 ms", ...
  [[nodiscard]] std::string describe() const;
};

// Runs `body` in a forked child, in a process group of its own, and waits for it
// at most `deadline`. Past the deadline the whole group is SIGKILLed (grandchildren
// too) and reaped. The body's return value comes back as `output`; an exception
// makes exit_code 1 with the message as output. Use it for anything that could
// hang or crash: the test fails with a clear message instead.
ChildOutcome run_with_deadline(const std::function<std::string()>& body,
                               std::chrono::milliseconds deadline);

}  // namespace kata::testing
