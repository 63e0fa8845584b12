// Your implementation of the cgroup quota functions in cpu_count.hpp.
// Read README.md first; `./kata hint 01` helps when you are stuck.
#include "cpu_count.hpp"

#include <kata/errors.hpp>

namespace kata {

std::optional<double> parse_cpu_max([[maybe_unused]] std::string_view cpu_max) {
  throw NotImplemented("parse_cpu_max");
}

std::optional<double> cgroup_cpu_limit(
    [[maybe_unused]] const std::filesystem::path& cgroup_fs_root,
    [[maybe_unused]] const std::filesystem::path& proc_self_cgroup_file) {
  throw NotImplemented("cgroup_cpu_limit");
}

}  // namespace kata
