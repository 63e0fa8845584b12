// Exercise 01: how many CPUs may this process really use?
//
// The contract: tests and graders call exactly these functions.
#pragma once

#include <filesystem>
#include <optional>
#include <string_view>

namespace kata {

// CPUs the kernel has online: sysconf(_SC_NPROCESSORS_ONLN), what Python's
// multiprocessing.cpu_count() and std::thread::hardware_concurrency() report.
[[nodiscard]] unsigned online_cpus();

// CPUs in this process's affinity mask: sched_getaffinity() with a dynamically
// sized set (CPU_ALLOC), correct beyond 1024 CPUs. What os.process_cpu_count() says.
[[nodiscard]] unsigned affinity_cpus();

// Parses the text of a cgroup v2 `cpu.max` file, "$QUOTA $PERIOD" in microseconds.
// "max 100000" is no limit (std::nullopt); "150000 100000" is 1.5 CPUs.
// A trailing newline is allowed; anything else malformed throws std::invalid_argument.
[[nodiscard]] std::optional<double> parse_cpu_max(std::string_view cpu_max);

// The tightest CPU quota on this process's cgroup and every ancestor up to the
// root, in CPUs; std::nullopt where there is none (or the files are missing).
//   cgroup_fs_root:        where the cgroup file system is mounted (/sys/fs/cgroup)
//   proc_self_cgroup_file: the process's cgroup membership (/proc/self/cgroup)
// Reads cgroup v2 `cpu.max`, or v1 `cpu.cfs_quota_us` / `cpu.cfs_period_us` where
// the `cpu` controller is mounted as v1.
[[nodiscard]] std::optional<double> cgroup_cpu_limit(
    const std::filesystem::path& cgroup_fs_root,
    const std::filesystem::path& proc_self_cgroup_file);

// The size a pool should take by default: the affinity count, capped by the cgroup
// quota rounded up, and never less than 1. (The pools of exercises 02 to 08 take
// kata::default_worker_count() from common/ instead, which counts the affinity mask
// alone: no exercise depends on a student's work in another.)
[[nodiscard]] unsigned usable_cpus();

// The same computation for a machine given in full: `affinity` CPUs allowed, and the
// cgroup quota that cgroup_cpu_limit(cgroup_fs_root, proc_self_cgroup_file) finds.
// usable_cpus() is usable_cpus_from("/sys/fs/cgroup", "/proc/self/cgroup",
// affinity_cpus()); the tests call it with fake cgroup trees, to reach the rounding.
[[nodiscard]] unsigned usable_cpus_from(const std::filesystem::path& cgroup_fs_root,
                                        const std::filesystem::path& proc_self_cgroup_file,
                                        unsigned affinity);

// How many threads oneTBB would use by default: tbb::info::default_concurrency().
[[nodiscard]] unsigned tbb_default_concurrency();

}  // namespace kata
