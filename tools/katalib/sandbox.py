"""Running code we do not trust: another user, resource limits, and no survivors.

As root, untrusted processes run as a user of their own (a uid no one else
uses), so they cannot signal or read the grader, and every process they leave
behind can be found and killed by uid. RLIMIT_NPROC then caps how many
processes that user may have (a fork bomb hits the cap instead of the machine),
RLIMIT_CPU how long each may compute, RLIMIT_AS how much memory each may map,
RLIMIT_FSIZE how large a file each may write. Without root only the limits apply.
"""
from __future__ import annotations

import dataclasses
import os
import resource
import signal
import time

MIB = 1024 * 1024


@dataclasses.dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 120
    processes: int = 256
    address_space_mib: int = 8192
    file_size_mib: int = 256

    def apply(self) -> None:
        """Sets the limits on this process; children inherit them."""
        resource.setrlimit(resource.RLIMIT_CPU, (self.cpu_seconds, self.cpu_seconds))
        resource.setrlimit(resource.RLIMIT_NPROC, (self.processes, self.processes))
        space = self.address_space_mib * MIB
        resource.setrlimit(resource.RLIMIT_AS, (space, space))
        size = self.file_size_mib * MIB
        resource.setrlimit(resource.RLIMIT_FSIZE, (size, size))
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))

    def to_env(self) -> str:
        return f"{self.cpu_seconds},{self.processes},{self.address_space_mib},{self.file_size_mib}"

    @staticmethod
    def from_env(text: str) -> "Limits":
        cpu, processes, space, size = (int(x) for x in text.split(","))
        return Limits(cpu, processes, space, size)


def can_switch_user() -> bool:
    return os.geteuid() == 0


def become(uid: int) -> None:
    """Drops to `uid` for good: no supplementary groups, gid = uid."""
    os.setgroups([])
    os.setgid(uid)
    os.setuid(uid)


def processes_of(uid: int) -> list[int]:
    pids = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                if os.stat(f"/proc/{entry}").st_uid == uid:
                    pids.append(int(entry))
            except FileNotFoundError:
                continue
    return pids


def kill_everything_of(uid: int, rounds: int = 100) -> None:
    """SIGKILLs every process running as `uid`, daemons and orphans included.

    kill(-1, SIGKILL) sent *as that user* reaches every process the user owns;
    repeated, because a fork bomb may fork between two rounds.
    """
    for _ in range(rounds):
        if not processes_of(uid):
            return
        pid = os.fork()
        if pid == 0:
            try:
                become(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        os.waitpid(pid, 0)
        time.sleep(0.02)
    raise RuntimeError(f"processes of uid {uid} survived {rounds} rounds of SIGKILL")


def chown_tree(path: str, uid: int) -> None:
    for folder, dirs, files in os.walk(path):
        os.chown(folder, uid, uid)
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)
