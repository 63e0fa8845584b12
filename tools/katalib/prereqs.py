"""What the course needs installed, and installing it where we may.

On Debian and Ubuntu, as root, missing packages are installed with apt-get;
otherwise the exact command is printed and nothing is changed.
"""
from __future__ import annotations

import os
import shutil
import subprocess
import sys

# Debian/Ubuntu package names, each with a file or command that shows it is there.
PACKAGES = {
    "cmake": "cmake",
    "ninja-build": "ninja",
    "g++": "g++",
    "libgtest-dev": "/usr/include/gtest/gtest.h",
    "libgmock-dev": "/usr/include/gmock/gmock.h",
    "libbenchmark-dev": "/usr/include/benchmark/benchmark.h",
    "libtbb-dev": "/usr/include/oneapi/tbb.h",
    "libopenmpi-dev": "/usr/lib/x86_64-linux-gnu/openmpi/include/mpi.h",
    "openmpi-bin": "mpiexec",
}

# What only `kata bench` needs: NumPy for the notebook's vectorized cell, and fd
# for a second real tool beside find. Without them those rows are skipped.
BENCH_PACKAGES = {
    "python3-numpy": "/usr/lib/python3/dist-packages/numpy",
    "fd-find": "fdfind",
}


# What only `kata grade` needs: bubblewrap, for a sandbox of namespaces per test.
GRADE_PACKAGES = {
    "bubblewrap": "bwrap",
}


def _present(probe: str) -> bool:
    if probe.startswith("/"):
        return os.path.exists(probe)
    return shutil.which(probe) is not None


def _dpkg_installed(package: str) -> bool | None:
    """True/False from dpkg; None where there is no dpkg to ask."""
    if shutil.which("dpkg-query") is None:
        return None
    result = subprocess.run(
        ["dpkg-query", "-W", "-f=${db:Status-Status}", package],
        capture_output=True,
        text=True,
        check=False,
    )
    return result.returncode == 0 and result.stdout.strip() == "installed"


def missing_packages(packages: dict[str, str] = PACKAGES) -> list[str]:
    missing = []
    for package, probe in packages.items():
        installed = _dpkg_installed(package)
        if installed is False or (installed is None and not _present(probe)):
            missing.append(package)
    return missing


def install_command(packages: list[str]) -> list[str]:
    return ["apt-get", "install", "-y", "--no-install-recommends", *packages]


def ensure(quiet: bool = False, for_bench: bool = False, for_grade: bool = False) -> bool:
    """Makes sure everything is installed. Returns False (after saying what to do) if not."""
    wanted = {**PACKAGES, **BENCH_PACKAGES} if for_bench else PACKAGES
    if for_grade:
        wanted = {**wanted, **GRADE_PACKAGES}
    missing = missing_packages(wanted)
    if not missing:
        return True
    can_install = os.geteuid() == 0 and shutil.which("apt-get") is not None
    if not can_install:
        command = " ".join(install_command(missing))
        print("The kata needs packages that are not installed: " + ", ".join(missing), file=sys.stderr)
        if shutil.which("apt-get"):
            print(f"Install them with:\n  sudo apt-get update && sudo {command}", file=sys.stderr)
        else:
            print("Install their equivalents with your system's package manager.", file=sys.stderr)
        return False
    if not quiet:
        print("Installing " + ", ".join(missing) + " ...", flush=True)
    env = dict(os.environ, DEBIAN_FRONTEND="noninteractive")
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run([*install_command(missing), "-qq"], check=True, env=env, stdout=subprocess.DEVNULL)
    still_missing = missing_packages(wanted)
    if still_missing:
        print("apt-get did not install: " + ", ".join(still_missing), file=sys.stderr)
        return False
    return True
