"""`kata watch`: rerun an exercise's tests whenever its files change.

inotifywait (Debian's inotify-tools) sleeps until the kernel reports a change;
where it is missing, we poll the files' sizes and modification times.
"""
from __future__ import annotations

import pathlib
import shutil
import subprocess
import time

Snapshot = dict[str, tuple[int, int]]


def snapshot(folder: pathlib.Path) -> Snapshot:
    files: Snapshot = {}
    for path in folder.rglob("*"):
        try:
            if path.is_file():
                stat = path.stat()
                files[str(path)] = (stat.st_mtime_ns, stat.st_size)
        except OSError:
            continue  # removed while we looked: the next snapshot sees it gone
    return files


def wait_by_polling(folder: pathlib.Path, interval: float = 0.5, timeout: float | None = None) -> bool:
    """Returns True when something under `folder` changed, False at the timeout."""
    before = snapshot(folder)
    deadline = None if timeout is None else time.monotonic() + timeout
    while deadline is None or time.monotonic() < deadline:
        time.sleep(interval)
        if snapshot(folder) != before:
            return True
    return False


def wait_by_inotify(folder: pathlib.Path, timeout: float | None = None) -> bool:
    command = ["inotifywait", "-qq", "-r", "-e", "close_write,moved_to,create,delete", str(folder)]
    if timeout is not None:
        command += ["-t", str(max(1, int(timeout)))]
    # Exit status 0: an event; 2: the timeout passed.
    return subprocess.run(command, check=False).returncode == 0


def wait_for_change(folder: pathlib.Path, use_inotify: bool | None = None,
                    timeout: float | None = None) -> bool:
    if use_inotify is None:
        use_inotify = shutil.which("inotifywait") is not None
    changed = wait_by_inotify(folder, timeout) if use_inotify else wait_by_polling(folder, timeout=timeout)
    if changed:
        time.sleep(0.2)  # editors write in several steps: let the burst settle
    return changed


class Watcher:
    """Watches a folder in the background, for a screen that cannot block: `changed()` says
    whether anything changed since the last call. inotifywait in monitor mode where it exists,
    polling otherwise; `stop()` ends either."""

    def __init__(self, folder: pathlib.Path, use_inotify: bool | None = None, interval: float = 0.5):
        import threading

        self.folder = folder
        self.use_inotify = shutil.which("inotifywait") is not None if use_inotify is None else use_inotify
        self.how = "inotify" if self.use_inotify else "polling"
        self._event = threading.Event()
        self._stopping = threading.Event()
        self._process: subprocess.Popen | None = None
        if self.use_inotify:
            self._process = subprocess.Popen(
                ["inotifywait", "-m", "-q", "-r", "-e", "close_write,moved_to,create,delete",
                 "--format", "%w%f", str(folder)],
                stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL, text=True)
            target = self._read_events
        else:
            target = lambda: self._poll(interval)  # noqa: E731
        self._thread = threading.Thread(target=target, daemon=True)
        self._thread.start()

    def _read_events(self) -> None:
        for _ in self._process.stdout:
            self._event.set()

    def _poll(self, interval: float) -> None:
        before = snapshot(self.folder)
        while not self._stopping.wait(interval):
            now = snapshot(self.folder)
            if now != before:
                before = now
                self._event.set()

    def changed(self) -> bool:
        if not self._event.is_set():
            return False
        self._event.clear()
        return True

    def stop(self) -> None:
        self._stopping.set()
        if self._process and self._process.poll() is None:
            self._process.kill()
            self._process.wait()
        self._thread.join(timeout=2)
        if self._process and self._process.stdout and not self._thread.is_alive():
            self._process.stdout.close()
