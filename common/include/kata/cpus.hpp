// The number of CPUs this process may run on, for the default size of a pool.
#pragma once

namespace kata {

// CPUs in this process's affinity mask (sched_getaffinity), at least 1.
// Exercise 01 teaches how to find this (and what cgroup quotas add); this copy
// lives in common/ so that no exercise depends on a student's work in another.
[[nodiscard]] unsigned default_worker_count();

}  // namespace kata
