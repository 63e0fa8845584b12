// Your implementation of the CPU counts in cpu_count.hpp.
// Read README.md first; `./kata hint 01` helps when you are stuck.
#include "cpu_count.hpp"

#include <kata/errors.hpp>

namespace kata {

unsigned online_cpus() {
  throw NotImplemented("online_cpus");
}

unsigned affinity_cpus() {
  throw NotImplemented("affinity_cpus");
}

unsigned usable_cpus() {
  throw NotImplemented("usable_cpus");
}

unsigned usable_cpus_from(const std::filesystem::path& /*cgroup_fs_root*/,
                          const std::filesystem::path& /*proc_self_cgroup_file*/,
                          unsigned /*affinity*/) {
  throw NotImplemented("usable_cpus_from");
}

unsigned tbb_default_concurrency() {
  throw NotImplemented("tbb_default_concurrency");
}

}  // namespace kata
