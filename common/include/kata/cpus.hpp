// The number of CPUs this process may run on, for the default size of a pool.
#pragma once

namespace kata {

// CPUs in this process's affinity mask (sched_getaffinity), at least 1: the
// default size of the course's pools (ProcessPool, shm_map, ...). It does not read
// cgroup quotas, as exercise 01's usable_cpus() does: in a container limited to
// fewer CPUs than its mask, the pools start more workers than the quota runs at
// once. Exercise 01 teaches both; this copy lives in common/ so that no exercise
// depends on a student's work in another.
[[nodiscard]] unsigned default_worker_count();

}  // namespace kata
