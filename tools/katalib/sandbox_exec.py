#!/usr/bin/env python3
"""Runs one test binary for `kata grade`, sandboxed: `sandbox_exec.py PROGRAM ARGS...`.

ctest starts this (as root, when the grader is root) in place of the test binary
(CMake's CROSSCOMPILING_EMULATOR). It drops to the sandbox user with the limits
from the environment, runs the program in a process group of its own, copies at
most KATA_SANDBOX_MAX_OUTPUT bytes of its output, and kills the whole group when
the program ends, floods its output, or ctest gives up on it.
"""
import os
import pathlib
import select
import signal
import subprocess
import sys

sys.path.insert(0, str(pathlib.Path(__file__).resolve().parents[1]))

from katalib import sandbox  # noqa: E402


def _read_available(fd: int) -> bytes:
    data = b""
    while True:
        try:
            chunk = os.read(fd, 65536)
        except BlockingIOError:
            return data
        if not chunk:
            return data
        data += chunk
        if len(data) > (1 << 22):
            return data


def main(argv: list[str]) -> int:
    limits = sandbox.Limits.from_env(os.environ["KATA_SANDBOX_LIMITS"])
    uid = int(os.environ.get("KATA_SANDBOX_UID", "-1"))
    max_output = int(os.environ.get("KATA_SANDBOX_MAX_OUTPUT", str(1 << 20)))

    def enter_sandbox() -> None:
        limits.apply()
        if uid >= 0 and sandbox.can_switch_user():
            sandbox.become(uid)

    child = subprocess.Popen(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                             start_new_session=True, preexec_fn=enter_sandbox)

    def kill_group(*_):
        try:
            os.killpg(child.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass

    signal.signal(signal.SIGTERM, lambda *a: (kill_group(), sys.exit(1)))
    copied = 0
    flooded = False
    pipe = child.stdout.fileno()
    os.set_blocking(pipe, False)
    # Copy until the program ends (not until the pipe closes: a daemon it left
    # behind could hold the pipe open forever) or writes too much.
    while True:
        exited = child.poll() is not None
        select.select([pipe], [], [], 0 if exited else 0.1)
        chunk = _read_available(pipe)
        if copied + len(chunk) > max_output:
            sys.stdout.buffer.write(chunk[: max_output - copied])
            flooded = True
            break
        sys.stdout.buffer.write(chunk)
        copied += len(chunk)
        if exited:
            break
    sys.stdout.buffer.flush()
    kill_group()
    status = child.wait()
    if flooded:
        print(f"\n[kata grade: the test wrote more than {max_output} bytes of output and was stopped]")
        return 1
    if status < 0:  # killed by a signal: die the same way, so that ctest reports the crash
        sys.stdout.flush()
        signal.signal(-status, signal.SIG_DFL)
        os.kill(os.getpid(), -status)
    return status


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
