// Reference solution: the CPU counts, from the narrowest question to the widest.
#include "cpu_count.hpp"

#include <kata/errors.hpp>

#include <sched.h>
#include <unistd.h>

#include <oneapi/tbb/info.h>

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <memory>

namespace kata {

unsigned online_cpus() {
  // Every CPU the kernel has online, whether or not this process may use it.
  const long count = ::sysconf(_SC_NPROCESSORS_ONLN);
  if (count == -1) {
    throw_errno("sysconf(_SC_NPROCESSORS_ONLN)");
  }
  return static_cast<unsigned>(count);
}

unsigned affinity_cpus() {
  // cpu_set_t is a fixed 1024-bit set: sched_getaffinity() fails with EINVAL when
  // the kernel's mask is wider. Grow a CPU_ALLOC'd set until the mask fits.
  for (int cpus = 1024;; cpus *= 2) {
    const std::unique_ptr<cpu_set_t, void (*)(cpu_set_t*)> set(CPU_ALLOC(cpus),
                                                               [](cpu_set_t* s) { CPU_FREE(s); });
    if (!set) {
      throw_errno("CPU_ALLOC", ENOMEM);
    }
    const std::size_t size = CPU_ALLOC_SIZE(cpus);
    if (::sched_getaffinity(0, size, set.get()) == 0) {
      return static_cast<unsigned>(CPU_COUNT_S(size, set.get()));
    }
    if (errno != EINVAL) {
      throw_errno("sched_getaffinity");
    }
  }
}

unsigned usable_cpus() {
  return usable_cpus_from("/sys/fs/cgroup", "/proc/self/cgroup", affinity_cpus());
}

unsigned usable_cpus_from(const std::filesystem::path& cgroup_fs_root,
                          const std::filesystem::path& proc_self_cgroup_file, unsigned affinity) {
  const std::optional<double> quota = cgroup_cpu_limit(cgroup_fs_root, proc_self_cgroup_file);
  // A quota of 1.5 CPUs keeps two threads busy three quarters of the time:
  // round up, so that the quota, not the pool, is what limits us.
  const unsigned by_quota = quota ? static_cast<unsigned>(std::ceil(*quota)) : affinity;
  return std::max(1U, std::min(affinity, by_quota));
}

unsigned tbb_default_concurrency() {
  // oneTBB 2021.8 (Debian 12) reads the affinity mask but not cgroup quotas.
  return static_cast<unsigned>(tbb::info::default_concurrency());
}

}  // namespace kata
