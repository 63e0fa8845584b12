"""exercises/09_mpi_map/two_hosts.sh: two hosts made of network namespaces, and nothing left behind.

Each run names its namespaces kata2h-<its pid>-a and -b. Whatever way a run
ends (its program passes or fails, --timeout, Ctrl-C, SIGKILL followed by the
next run's stale cleanup), `ip netns list` must show none of them afterwards,
no process of the run may survive, and its session directory must be gone.
Needs root, ip and mpirun (CI has them); elsewhere these tests are skipped,
and the script's own skip is checked instead.
"""
import os
import pathlib
import re
import shutil
import signal
import subprocess
import tempfile
import time
import unittest

from katalib import gbench

ROOT = pathlib.Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "exercises" / "09_mpi_map" / "two_hosts.sh"
BENCH_LAUNCHER = ROOT / "bench" / "09_mpi_map_bench.sh"
SKIP = 77
NOBODY = 65534


def can_run() -> str:
    """Why the two hosts cannot be set up here, or ""."""
    if os.geteuid() != 0:
        return "needs root"
    for tool in ("ip", "mpirun"):
        if shutil.which(tool) is None:
            return f"needs {tool}"
    return ""


def namespaces_of(pid: int) -> list[str]:
    listed = subprocess.run(["ip", "netns", "list"], capture_output=True, text=True, check=True).stdout
    return [line.split()[0] for line in listed.splitlines() if line.startswith(f"kata2h-{pid}-")]


def processes_running(marker: str) -> list[int]:
    """Pids whose command line holds `marker`."""
    pids = []
    for entry in pathlib.Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            arguments = (entry / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if marker.encode() in arguments:
            pids.append(int(entry.name))
    return pids


def ranks_sleeping(marker: str) -> int:
    """How many `sleep MARKER` processes run (the ranks of a run of sleep)."""
    count = 0
    for pid in processes_running(marker):
        try:
            count += pathlib.Path(f"/proc/{pid}/comm").read_text(errors="replace").strip() == "sleep"
        except OSError:  # it ended since it was listed
            continue
    return count


def wait_for(condition, seconds: float = 20) -> bool:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.05)
    return False


@unittest.skipIf(can_run(), f"two_hosts.sh {can_run()}")
class TwoHostsTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.TemporaryDirectory(prefix="kata-two-hosts-test-")
        self.env = {**os.environ, "TMPDIR": self.tmp.name}
        self.addCleanup(self.tmp.cleanup)

    def start(self, *arguments: str) -> subprocess.Popen:
        # A session of its own, as a terminal would give it: a group to signal.
        process = subprocess.Popen([str(SCRIPT), *arguments], env=self.env, start_new_session=True,
                                   stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        self.addCleanup(self.stop, process)
        return process

    def stop(self, process: subprocess.Popen) -> None:
        """After a failed test: what it started must not outlive it."""
        if process.poll() is None:
            os.killpg(process.pid, signal.SIGKILL)
        if not process.stdout.closed:
            process.communicate()
        subprocess.run([str(SCRIPT), "cleanup"], env=self.env, capture_output=True, check=False)

    def finish(self, process: subprocess.Popen) -> tuple[int, str]:
        try:
            output, _ = process.communicate(timeout=60)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.communicate()
            self.fail("two_hosts.sh did not end within 60 s")
        return process.returncode, output

    def start_sleeper(self) -> tuple[subprocess.Popen, str]:
        """A run of `sleep` on every rank, once its ranks are running on both hosts."""
        marker = f"{300 + os.getpid() % 1000 / 1000 + time.monotonic_ns() % 997 / 1e6:.6f}"
        process = self.start("run", "--", "sleep", marker)
        self.assertTrue(wait_for(lambda: ranks_sleeping(marker) == 4),
                        "the four ranks never started")
        self.assertEqual(len(namespaces_of(process.pid)), 2)
        return process, marker

    def assert_nothing_left(self, pid: int, marker: str = "") -> None:
        self.assertEqual(namespaces_of(pid), [], "namespaces left behind")
        self.assertEqual(list(pathlib.Path(self.tmp.name).iterdir()), [], "session directory left behind")
        if marker:
            self.assertTrue(wait_for(lambda: not processes_running(marker), 5), "ranks left running")

    def test_the_ranks_run_in_two_namespaces_neither_of_them_this_one(self):
        process = self.start("run", "--", "readlink", "/proc/self/ns/net")
        status, output = self.finish(process)
        self.assertEqual(status, 0, output)
        namespaces = re.findall(r"^net:\[\d+\]$", output, re.MULTILINE)
        self.assertEqual(len(namespaces), 4, output)
        self.assertEqual(len(set(namespaces)), 2, output)
        self.assertNotIn(os.readlink("/proc/self/ns/net"), namespaces)
        self.assert_nothing_left(process.pid)

    def test_a_failing_program_fails_the_run_and_leaves_nothing(self):
        process = self.start("run", "--", "false")
        status, output = self.finish(process)
        self.assertNotEqual(status, 0, output)
        self.assert_nothing_left(process.pid)

    def test_timeout_stops_the_run_and_leaves_nothing(self):
        marker = "299.5"
        process = self.start("run", "--timeout", "2", "--", "sleep", marker)
        status, output = self.finish(process)
        self.assertEqual(status, 124, output)
        self.assertIn("--timeout", output)
        self.assert_nothing_left(process.pid, marker)

    def test_ctrl_c_midway_leaves_nothing(self):
        process, marker = self.start_sleeper()
        os.killpg(process.pid, signal.SIGINT)
        status, output = self.finish(process)
        self.assertEqual(status, 130, output)
        self.assert_nothing_left(process.pid, marker)

    def test_a_run_killed_midway_is_cleaned_up_by_the_next_one(self):
        process, marker = self.start_sleeper()
        os.killpg(process.pid, signal.SIGKILL)  # no trap runs: the namespaces stay
        process.communicate()
        self.assertEqual(len(namespaces_of(process.pid)), 2)
        after = self.start("run", "--", "true")
        status, output = self.finish(after)
        self.assertEqual(status, 0, output)
        self.assert_nothing_left(process.pid, marker)
        self.assert_nothing_left(after.pid)

    def test_cleanup_removes_what_a_killed_run_left(self):
        process, marker = self.start_sleeper()
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        status, output = self.finish(self.start("cleanup"))
        self.assertEqual(status, 0, output)
        self.assert_nothing_left(process.pid, marker)

    def test_bad_arguments_are_one_line_and_status_2(self):
        status, output = self.finish(self.start("run", "--ranks-per-host", "zero", "--", "true"))
        self.assertEqual(status, 2)
        self.assertEqual(len(output.strip().splitlines()), 1, output)


class SkipTest(unittest.TestCase):
    def test_help_says_how_to_run_it(self):
        completed = subprocess.run([str(SCRIPT), "--help"], capture_output=True, text=True, check=False)
        self.assertEqual(completed.returncode, 0)
        self.assertIn("sudo", completed.stdout)

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv to become nobody")
    def test_not_root_is_a_skip_with_one_line_saying_why(self):
        completed = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             str(SCRIPT), "run", "--", "true"], capture_output=True, text=True, check=False)
        self.assertEqual(completed.returncode, SKIP, completed.stderr)
        self.assertEqual(completed.stdout, "")
        lines = completed.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, completed.stderr)
        self.assertIn("needs root", lines[0])
        self.assertIn("sudo", lines[0])


class BenchSkipTest(unittest.TestCase):
    """`kata bench 09` where two hosts cannot run: those rows say why, the run is no failure."""

    def test_a_launcher_that_exits_77_is_a_skip_with_its_last_line(self):
        with tempfile.TemporaryDirectory() as tmp:
            launcher = pathlib.Path(tmp) / "launcher.sh"
            launcher.write_text("#!/bin/sh\necho starting\necho 'two hosts not measured: needs root' >&2\nexit 77\n")
            launcher.chmod(0o755)
            result = gbench.run([str(launcher), "unused_binary"], ["BM_x"], 1, 0.01)
        self.assertEqual(result.skipped, "two hosts not measured: needs root")
        self.assertEqual(result.error, "")
        self.assertEqual(result.figures, {})

    @unittest.skipUnless(os.geteuid() == 0 and shutil.which("setpriv"), "needs root and setpriv to become nobody")
    def test_the_launcher_says_why_two_hosts_are_not_measured_when_not_root(self):
        completed = subprocess.run(
            ["setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}", "--clear-groups",
             str(BENCH_LAUNCHER), "/nonexistent/09_mpi_map_bench"],
            env={**os.environ, "KATA_MPI_RANKS": "2x2"}, capture_output=True, text=True, check=False)
        self.assertEqual(completed.returncode, SKIP, completed.stderr)
        lines = completed.stderr.strip().splitlines()
        self.assertEqual(len(lines), 1, completed.stderr)
        self.assertIn("needs root", lines[0])
        self.assertIn("sudo ./kata bench 09", lines[0])


if __name__ == "__main__":
    unittest.main()
