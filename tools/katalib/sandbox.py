"""Running code we do not trust: each run in a sandbox of its own, nothing left behind.

As root with bubblewrap (`bwrap`), every run (a compile, one test) gets fresh
namespaces: its own PID namespace (when its first process ends, the kernel
kills every other one in it, daemons, stopped and setuid ones included), its
own network namespace (loopback only: the host's 127.0.0.1 is out of reach),
its own IPC and UTS namespaces. It sees the system's directories read-only,
the trees the caller binds (at fixed paths under /kata), and private,
size-capped tmpfs mounts for /tmp, /var/tmp and /dev/shm, which vanish with
it; no /home, /root, /work, no course checkout. It runs as a sandbox uid
claimed for this grader alone, with no capabilities and no_new_privs (setuid
binaries give nothing). A memory cgroup caps the memory of the whole run and a
pids cgroup its number of processes (cgroup v1 or v2, where writable); rlimits
cap each process: CPU seconds, address space, file size, open files.

Where that is not possible, the `mode` says what is used instead, and
`missing` says, in one line, what is missing:
  user:   root without bwrap: the sandbox uid and rlimits; survivors killed by uid.
  limits: not root: rlimits and a process group only (today's protections).
"""
from __future__ import annotations

import dataclasses
import itertools
import os
import pathlib
import select
import shutil
import signal
import socket
import subprocess
import time

MIB = 1024 * 1024
REPORT = "/kata/report"  # in a namespace: a small tmpfs of its own for reports, apart from /tmp
_CGROUP = pathlib.Path("/sys/fs/cgroup")


@dataclasses.dataclass(frozen=True)
class Limits:
    cpu_seconds: int = 120
    processes: int = 256
    address_space_mib: int = 8192
    file_size_mib: int = 256
    open_files: int = 4096
    memory_mib: int = 4096  # the whole run, every process together (a cgroup)
    tmp_mib: int = 512  # each of /tmp, /var/tmp, /dev/shm (counted in memory_mib too)

    def prlimit(self, processes: bool = True) -> list[str]:
        """The same limits as a `prlimit` command prefix (no Python runs between fork and exec)."""
        space, size = self.address_space_mib * MIB, self.file_size_mib * MIB
        command = ["prlimit", f"--cpu={self.cpu_seconds}", f"--as={space}", f"--fsize={size}",
                   f"--nofile={self.open_files}", "--core=0"]
        if processes:
            command.append(f"--nproc={self.processes}")
        return command + ["--"]


@dataclasses.dataclass
class Bind:
    host: pathlib.Path
    inside: str
    writable: bool = False


@dataclasses.dataclass
class Completed:
    status: int | None  # exit status; -N: killed by signal N; None: stopped at the deadline
    output: bytes  # stdout and stderr together, at most max_output bytes
    report: bytes  # what the run wrote to the report fd (see Sandbox.run)
    seconds: float
    flooded: bool = False
    out_of_memory: bool = False

    @property
    def timed_out(self) -> bool:
        return self.status is None and not self.flooded


def _bwrap_works() -> bool:
    try:
        return subprocess.run(["bwrap", "--ro-bind", "/", "/", "--unshare-pid", "--unshare-net",
                               "--unshare-ipc", "--die-with-parent", "--proc", "/proc", "--dev", "/dev",
                               "true"], capture_output=True, timeout=30, check=False).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


def _cgroup_roots() -> dict[str, pathlib.Path]:
    """Where this machine lets root make a cgroup with a memory and a pids limit."""
    if (_CGROUP / "cgroup.controllers").exists():  # v2: both in one tree
        controllers = (_CGROUP / "cgroup.controllers").read_text().split()
        if {"memory", "pids"} <= set(controllers):
            return {"v2": _CGROUP}
        return {}
    roots = {name: _CGROUP / name for name in ("memory", "pids") if (_CGROUP / name / "cgroup.procs").exists()}
    return roots if os.access(_CGROUP / "memory", os.W_OK) else {}


def processes_of(uid: int) -> list[int]:
    """Every process whose real or effective uid is `uid`."""
    pids = []
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/status", encoding="ascii", errors="replace") as status:
                for line in status:
                    if line.startswith("Uid:"):
                        if str(uid) in line.split()[1:3]:
                            pids.append(int(entry))
                        break
        except OSError:
            continue
    return pids


class UidClaim:
    """A uid from a pool, held by this grader alone while it lives.

    The claim is an abstract Unix socket named after the uid: binding it is atomic,
    the kernel releases it when the grader dies, and no file is created anywhere
    (nothing in /tmp for another user to plant a symlink on). A uid that still
    has processes (another grader's, or a crashed one's) is skipped.
    """

    def __init__(self, first: int, count: int):
        self.uid = -1
        self._socket: socket.socket | None = None
        for uid in range(first, first + count):
            sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
            try:
                sock.bind(f"\0kata-grade-uid-{uid}")
            except OSError:
                sock.close()
                continue
            if processes_of(uid):
                sock.close()
                continue
            self.uid, self._socket = uid, sock
            return
        raise RuntimeError(f"every sandbox uid from {first} to {first + count - 1} is in use by another grader")

    def release(self) -> None:
        if self._socket is not None:
            self._socket.close()
            self._socket = None


_JOIN_CGROUPS = 'while [ "$1" != -- ]; do echo $$ > "$1" || exit 126; shift; done; shift; exec "$@"'


def _setpriv(uid: int) -> list[str]:
    """Becomes `uid` for good: no groups, no capabilities, no_new_privs (setuid binaries give nothing)."""
    return ["setpriv", f"--reuid={uid}", f"--regid={uid}", "--clear-groups", "--inh-caps=-all",
            "--bounding-set=-all", "--no-new-privs", "--"]


class _Cgroup:
    """A memory and a pids cgroup for one run; whatever is left in it at the end is killed."""

    _serial = itertools.count(1)  # next() is atomic: graders may run in threads

    def __init__(self, roots: dict[str, pathlib.Path], name: str, limits: Limits):
        serial = next(_Cgroup._serial)
        self.dirs = [root / f"kata-grade-{name}-{os.getpid()}-{serial}" for root in roots.values()]
        memory = str(limits.memory_mib * MIB)
        for folder in self.dirs:
            folder.mkdir()
            if "v2" in roots:
                (folder / "memory.max").write_text(memory)
                if (folder / "memory.swap.max").exists():
                    (folder / "memory.swap.max").write_text("0")
                (folder / "pids.max").write_text(str(limits.processes))
            elif folder.parent.name == "memory":
                (folder / "memory.limit_in_bytes").write_text(memory)
                if (folder / "memory.memsw.limit_in_bytes").exists():
                    (folder / "memory.memsw.limit_in_bytes").write_text(memory)
            else:
                (folder / "pids.max").write_text(str(limits.processes))

    @staticmethod
    def remove(folder: pathlib.Path) -> None:
        try:
            for pid in (folder / "cgroup.procs").read_text().split():
                os.kill(int(pid), signal.SIGKILL)
            folder.rmdir()
        except OSError:
            pass

    def pids(self) -> list[int]:
        found = []
        for folder in self.dirs:
            try:
                found += [int(p) for p in (folder / "cgroup.procs").read_text().split()]
            except OSError:
                pass
        return found

    def out_of_memory(self) -> bool:
        for folder in self.dirs:
            for name, key in (("memory.events", "oom_kill"), ("memory.oom_control", "oom_kill")):
                try:
                    for line in (folder / name).read_text().splitlines():
                        if line.startswith(key + " ") and int(line.split()[1]) > 0:
                            return True
                except OSError:
                    pass
            try:
                if int((folder / "memory.failcnt").read_text()) > 0:
                    return True
            except (OSError, ValueError):
                pass
        return False

    def destroy(self, deadline: float = 10.0) -> None:
        """Kills what is left (nothing, normally: the PID namespace is gone) and removes the cgroups."""
        end = time.monotonic() + deadline
        while True:
            left = self.pids()
            for pid in left:
                try:
                    os.kill(pid, signal.SIGKILL)
                except ProcessLookupError:
                    pass
            removed = True
            for folder in self.dirs:
                try:
                    folder.rmdir()
                except FileNotFoundError:
                    pass
                except OSError:
                    removed = False
            if removed:
                return
            if time.monotonic() > end:
                raise RuntimeError(f"processes {left} in {self.dirs[0]} survived SIGKILL for {deadline:.0f} s")
            time.sleep(0.02)


class Sandbox:
    """Runs commands sandboxed as described above; one per grader, `close()` it at the end."""

    def __init__(self, limits: Limits, first_uid: int = 61999, uid_count: int = 8, without_root: bool = False):
        """`without_root`: behave as without root (for tests of that fallback)."""
        self.limits = limits
        self.uid_claim: UidClaim | None = None
        missing = []
        root = os.geteuid() == 0 and not without_root
        if not root:
            missing.append("not root: no namespaces, no sandbox uid, no cgroups (rlimits only)")
        elif not shutil.which("bwrap") or not shutil.which("setpriv"):
            missing.append("no bubblewrap (apt-get install bubblewrap): no namespaces")
        elif not _bwrap_works():
            missing.append("bwrap cannot make namespaces here: no namespaces")
        self.mode = "limits" if not root else "namespaces" if not missing else "user"
        self.cgroups = _cgroup_roots() if root else {}
        if root and not self.cgroups:
            missing.append("no writable memory and pids cgroups: no cap on a run's total memory")
        self.missing = "; ".join(missing)
        if root:
            self.uid_claim = UidClaim(first_uid, uid_count)
        self.uid = self.uid_claim.uid if self.uid_claim else os.geteuid()
        for root_dir in self.cgroups.values():  # left by a grader of this uid that was killed
            for stale in root_dir.glob(f"kata-grade-{self.uid}-*"):
                _Cgroup.remove(stale)

    @property
    def isolated(self) -> bool:
        return self.mode == "namespaces"

    def close(self) -> None:
        if self.mode == "user":
            kill_everything_of(self.uid)
        if self.uid_claim:
            self.uid_claim.release()

    def _bwrap(self, binds: list[Bind], chdir: str) -> list[str]:
        command = ["bwrap", "--unshare-pid", "--unshare-net", "--unshare-ipc", "--unshare-uts",
                   "--unshare-cgroup-try", "--die-with-parent", "--new-session", "--hostname", "kata"]
        for system in ("/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32", "/etc", "/sys"):
            if os.path.islink(system):
                command += ["--symlink", os.readlink(system), system]
            elif os.path.isdir(system):
                command += ["--ro-bind", system, system]
        command += ["--proc", "/proc", "--dev", "/dev"]
        tmp_bytes = str(self.limits.tmp_mib * MIB)
        for private in ("/tmp", "/var/tmp", "/dev/shm"):
            command += ["--perms", "1777", "--size", tmp_bytes, "--tmpfs", private]
        for parent in sorted({os.path.dirname(b.inside) for b in binds} | {os.path.dirname(REPORT)} - {"/"}):
            command += ["--perms", "0755", "--dir", parent]
        for bind in binds:
            command += ["--bind" if bind.writable else "--ro-bind", str(bind.host), bind.inside]
        command += ["--perms", "0777", "--size", str(16 * MIB), "--tmpfs", REPORT]
        return command + ["--chdir", chdir, "--", *_setpriv(self.uid)]

    def run(self, argv: list[str], timeout: float, binds: list[Bind] | None = None, chdir: str = "/tmp",
            env: dict[str, str] | None = None, max_output: int = 1 << 20, report: bool = False) -> Completed:
        """Runs argv; returns how it ended, its output and, with `report`, what it wrote to
        its stdin, the write end of a pipe. Every process it started is gone when this returns."""
        binds = binds or []
        base_env = {"PATH": "/usr/local/bin:/usr/bin:/bin", "LANG": "C.UTF-8", "HOME": "/tmp", "TMPDIR": "/tmp"}
        env = {**base_env, **(env or {})}
        # The report pipe is the run's stdin (fd 0): the command hands it on to no one
        # it does not trust (see grade._RUN_ONE), and a fixed number is one a shell can name.
        report_read, report_write = os.pipe() if report else (-1, -1)
        cgroup = _Cgroup(self.cgroups, str(self.uid), self.limits) if self.cgroups and self.mode != "limits" else None
        if self.mode == "namespaces":
            command, cwd = self._bwrap(binds, chdir) + argv, "/"
        elif self.mode == "user":
            command, cwd = [*_setpriv(self.uid), *argv], chdir
        else:
            command, cwd = argv, chdir
        # No preexec_fn (unsafe beside threads): a shell joins the cgroups, prlimit sets
        # the limits, then the command is exec'd.
        command = self.limits.prlimit(processes=self.mode != "namespaces") + command
        if cgroup:
            command = ["sh", "-c", _JOIN_CGROUPS, "sh", *(str(d / "cgroup.procs") for d in cgroup.dirs), "--",
                       *command]

        started = time.monotonic()
        try:
            process = subprocess.Popen(command, stdin=report_write if report else subprocess.DEVNULL,
                                       stdout=subprocess.PIPE, stderr=subprocess.STDOUT, env=env, cwd=cwd,
                                       start_new_session=True)
        except BaseException:
            if report:
                os.close(report_read)
                os.close(report_write)
            if cgroup:
                cgroup.destroy()
            raise
        if report:
            os.close(report_write)
        try:
            result = self._collect(process, report_read, timeout, max_output, started)
        finally:
            self._end(process)
            if report:
                os.close(report_read)
            if cgroup:
                result_oom = cgroup.out_of_memory()
                cgroup.destroy()
        if cgroup:
            result.out_of_memory = result_oom
        return result

    def _collect(self, process: subprocess.Popen, report_fd: int, timeout: float, max_output: int,
                 started: float) -> Completed:
        output, report = bytearray(), bytearray()
        pipes = {process.stdout.fileno(): output}
        if report_fd >= 0:
            pipes[report_fd] = report
        deadline = started + timeout
        flooded = False
        exited_at = None
        while pipes:
            now = time.monotonic()
            if process.poll() is not None and exited_at is None:
                exited_at = now
            # After the first process ends, its namespace dies with it: the pipes close
            # at once. Without a namespace, a daemon may hold them: give it a second.
            if now > deadline or (exited_at is not None and now > exited_at + 1.0):
                break
            ready, _, _ = select.select(list(pipes), [], [], min(0.1, max(0.0, deadline - now)))
            for fd in ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    del pipes[fd]
                    continue
                pipes[fd] += chunk
            if len(output) > max_output or len(report) > 64 * MIB:
                flooded = True
                break
        if not pipes and not flooded:  # output closed: the process is ending; wait, to the deadline
            try:
                process.wait(timeout=max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
        status = process.poll()
        return Completed(status, bytes(output[:max_output]), bytes(report), time.monotonic() - started, flooded)

    def _end(self, process: subprocess.Popen) -> None:
        """Kills the run's first process (in a namespace: all of it) and reaps it, with a deadline."""
        if process.poll() is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                process.kill()
            except ProcessLookupError:
                pass
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired as error:
            raise RuntimeError(f"a sandboxed process (pid {process.pid}) did not die after SIGKILL") from error
        finally:
            process.stdout.close()
        if self.mode == "limits":
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass
        elif self.mode == "user":
            kill_everything_of(self.uid)


def kill_everything_of(uid: int, deadline: float = 10.0) -> None:
    """SIGKILLs every process of `uid` (used only without namespaces), with a deadline.

    kill(-1, SIGKILL) sent as that user reaches all its processes; repeated, because a
    fork bomb may fork between two rounds. The killer is reaped with a deadline: a
    process of that uid can SIGSTOP it, and then it is killed in turn.
    """
    end = time.monotonic() + deadline
    while processes_of(uid):
        if time.monotonic() > end:
            raise RuntimeError(f"processes of uid {uid} survived {deadline:.0f} s of SIGKILL")
        pid = os.fork()
        if pid == 0:
            try:
                os.setgroups([])
                os.setgid(uid)
                os.setuid(uid)
                os.kill(-1, signal.SIGKILL)
            finally:
                os._exit(0)
        for _ in range(50):
            if os.waitpid(pid, os.WNOHANG) != (0, 0):
                break
            time.sleep(0.01)
        else:
            os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
        for victim in processes_of(uid):  # root's own SIGKILL: a stopped process dies too
            try:
                os.kill(victim, signal.SIGKILL)
            except ProcessLookupError:
                pass
        time.sleep(0.02)


def chown_tree(path: pathlib.Path, uid: int) -> None:
    for folder, dirs, files in os.walk(path):
        os.chown(folder, uid, uid)
        for name in dirs + files:
            os.lchown(os.path.join(folder, name), uid, uid)
