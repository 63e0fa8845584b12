#include <kata/errors.hpp>
#include <kata/shared_memory.hpp>

#include <sys/mman.h>

#include <string>

namespace kata {

SharedMapping::SharedMapping(std::size_t bytes) : size_(bytes) {
  void* memory = ::mmap(nullptr, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) {
    throw_errno("mmap of " + std::to_string(bytes) + " shared bytes");
  }
  data_ = memory;
}

SharedMapping& SharedMapping::operator=(SharedMapping&& other) noexcept {
  if (this != &other) {
    if (data_ != nullptr) {
      ::munmap(data_, size_);
    }
    data_ = std::exchange(other.data_, nullptr);
    size_ = std::exchange(other.size_, 0);
  }
  return *this;
}

SharedMapping::~SharedMapping() {
  if (data_ != nullptr) {
    ::munmap(data_, size_);  // fails only for a bad address or length: not ours
  }
}

}  // namespace kata
