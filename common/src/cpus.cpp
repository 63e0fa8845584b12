#include <kata/cpus.hpp>
#include <kata/errors.hpp>

#include <sched.h>

#include <cerrno>
#include <memory>

namespace kata {

unsigned default_worker_count() {
  // cpu_set_t holds 1024 CPUs; bigger machines need a dynamically sized set,
  // grown until the kernel's mask fits (EINVAL means "too small").
  for (int cpus = 1024;; cpus *= 2) {
    const std::unique_ptr<cpu_set_t, void (*)(cpu_set_t*)> set(CPU_ALLOC(cpus),
                                                               [](cpu_set_t* s) { CPU_FREE(s); });
    if (!set) {
      throw_errno("CPU_ALLOC", ENOMEM);
    }
    const std::size_t size = CPU_ALLOC_SIZE(cpus);
    if (::sched_getaffinity(0, size, set.get()) == 0) {
      const int count = CPU_COUNT_S(size, set.get());
      return count > 0 ? static_cast<unsigned>(count) : 1U;
    }
    if (errno != EINVAL) {
      throw_errno("sched_getaffinity");
    }
  }
}

}  // namespace kata
