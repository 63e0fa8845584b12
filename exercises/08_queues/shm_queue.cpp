// Your implementation of ShmQueue in queues.hpp.
// Read README.md first; `./kata hint 08` helps when you are stuck.
#include "queues.hpp"

#include <kata/errors.hpp>

namespace kata {

// Define the queue's state, in the mapping, here:
// struct ShmQueue::Shared { ... };

ShmQueue::ShmQueue([[maybe_unused]] std::size_t capacity) {
  throw NotImplemented("ShmQueue::ShmQueue");
}

ShmQueue::~ShmQueue() {}

void ShmQueue::put([[maybe_unused]] std::int64_t value) {
  throw NotImplemented("ShmQueue::put");
}

std::optional<std::int64_t> ShmQueue::get() {
  throw NotImplemented("ShmQueue::get");
}

std::optional<std::int64_t> ShmQueue::get_for([[maybe_unused]] std::chrono::milliseconds timeout) {
  throw NotImplemented("ShmQueue::get_for");
}

void ShmQueue::close() {
  throw NotImplemented("ShmQueue::close");
}

}  // namespace kata
