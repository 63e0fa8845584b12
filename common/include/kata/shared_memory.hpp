// Memory that forked processes share: a MAP_SHARED | MAP_ANONYMOUS mapping made
// before the fork. fork() copies every other page; these stay one, so a write in
// a child is seen by its parent and its siblings. Objects placed there must work
// across processes: plain integers, or lock-free std::atomic.
#pragma once

#include <cstddef>
#include <memory>
#include <utility>

namespace kata {

// Owns `bytes` of shared anonymous memory, zero-filled; unmapped when it dies.
// Move-only. Throws std::system_error naming mmap if the mapping fails.
class SharedMapping {
 public:
  explicit SharedMapping(std::size_t bytes);
  SharedMapping(SharedMapping&& other) noexcept
      : data_(std::exchange(other.data_, nullptr)), size_(std::exchange(other.size_, 0)) {}
  SharedMapping& operator=(SharedMapping&& other) noexcept;
  SharedMapping(const SharedMapping&) = delete;
  SharedMapping& operator=(const SharedMapping&) = delete;
  ~SharedMapping();

  [[nodiscard]] void* data() const noexcept { return data_; }
  [[nodiscard]] std::size_t size() const noexcept { return size_; }

 private:
  void* data_ = nullptr;
  std::size_t size_ = 0;
};

// One T built in a SharedMapping of its own: `Shared<Board> board;` then
// `board->next.fetch_add(1)` in any process forked after it was made.
template <class T>
class Shared {
 public:
  template <class... Args>
  explicit Shared(Args&&... args)
      : mapping_(sizeof(T)), object_(::new (mapping_.data()) T(std::forward<Args>(args)...)) {}
  ~Shared() { std::destroy_at(object_); }
  Shared(const Shared&) = delete;
  Shared& operator=(const Shared&) = delete;

  [[nodiscard]] T& operator*() const noexcept { return *object_; }
  [[nodiscard]] T* operator->() const noexcept { return object_; }
  [[nodiscard]] T* get() const noexcept { return object_; }

 private:
  SharedMapping mapping_;
  T* object_;
};

}  // namespace kata
