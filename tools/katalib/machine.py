"""A description of the machine, printed above every benchmark table.

A figure means little without it: how many CPUs this process may use (affinity
and cgroup quota, not just the CPUs online), which CPU, which kernel, and how
busy the machine was (the load average: other people's work skews ours).
"""
from __future__ import annotations

import os
import pathlib
import platform
import sys


def cpu_model() -> str:
    try:
        for line in pathlib.Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown CPU"


def cgroup_quota(cgroup_root: pathlib.Path = pathlib.Path("/sys/fs/cgroup"),
                 self_cgroup: pathlib.Path = pathlib.Path("/proc/self/cgroup")) -> float | None:
    """The tightest CPU quota from this process's cgroup up to the root, in CPUs (v2 and v1)."""
    try:
        lines = self_cgroup.read_text().splitlines()
    except OSError:
        return None
    limits = []
    for line in lines:
        _, controllers, path = line.split(":", 2)
        if controllers == "":  # v2
            files = [("cpu.max", None)]
            base = cgroup_root
        elif "cpu" in controllers.split(","):  # v1
            files = [("cpu.cfs_quota_us", "cpu.cfs_period_us")]
            base = cgroup_root / controllers
            if not base.exists():
                base = cgroup_root / "cpu"
        else:
            continue
        folder = base / path.lstrip("/")
        while True:
            limits += [q for q in (_read_quota(folder, *f) for f in files) if q]
            if folder == base:
                break
            folder = folder.parent
    return min(limits) if limits else None


def _read_quota(folder: pathlib.Path, quota_file: str, period_file: str | None) -> float | None:
    try:
        if period_file is None:
            quota, period = (folder / quota_file).read_text().split()
        else:
            quota, period = (folder / quota_file).read_text().strip(), (folder / period_file).read_text().strip()
    except (OSError, ValueError):
        return None
    if quota in ("max", "-1"):
        return None
    return int(quota) / int(period)


def describe() -> list[tuple[str, str]]:
    online = os.sysconf("SC_NPROCESSORS_ONLN")
    affinity = len(os.sched_getaffinity(0))
    quota = cgroup_quota()
    load = ", ".join(f"{x:.2f}" for x in os.getloadavg())
    return [
        ("CPU", cpu_model()),
        ("CPUs", f"{online} online, {affinity} in this process's affinity mask, "
                 + (f"cgroup quota {quota:g} CPUs" if quota else "no cgroup CPU quota")),
        ("kernel", f"{platform.system()} {platform.release()} ({platform.machine()})"),
        ("load average", f"{load} (1, 5, 15 min) at the start"),
        ("python", f"{platform.python_version()} ({sys.executable}), which runs the notebook's cells"),
    ]
