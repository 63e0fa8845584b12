"""`kata reset`: put an exercise's stub files back as shipped, keeping a backup.

"As shipped" is the version in git at the repository you cloned from
(origin/HEAD), or at HEAD where there is no such remote.
"""
from __future__ import annotations

import datetime
import pathlib
import shutil
import subprocess

from .course import Exercise


class ResetError(RuntimeError):
    pass


def _git(root: pathlib.Path, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(["git", "-C", str(root), *args], capture_output=True, check=False)


def shipped_ref(root: pathlib.Path) -> str:
    return "origin/HEAD" if _git(root, "rev-parse", "--verify", "-q", "origin/HEAD").returncode == 0 else "HEAD"


def shipped_version(exercise: Exercise, file: pathlib.Path, ref: str) -> bytes:
    relative = file.relative_to(exercise.root).as_posix()
    shown = _git(exercise.root, "show", f"{ref}:{relative}")
    if shown.returncode != 0:
        raise ResetError(f"git has no shipped version of {relative} at {ref}: "
                         + shown.stderr.decode(errors="replace").strip())
    return shown.stdout


def reset(exercise: Exercise, ref: str | None = None) -> pathlib.Path | None:
    """Restores every stub file that differs from its shipped version. Returns the backup
    folder holding the student's versions, or None if nothing differed."""
    ref = ref or shipped_ref(exercise.root)
    originals = {file: shipped_version(exercise, file, ref) for file in exercise.stub_files}
    changed = {file: text for file, text in originals.items() if file.read_bytes() != text}
    if not changed:
        return None
    stamp = datetime.datetime.now().strftime("%Y%m%d-%H%M%S")
    backup = exercise.root / ".kata" / "backup" / f"{exercise.name}-{stamp}"
    backup.mkdir(parents=True)
    for file, text in changed.items():
        shutil.copy2(file, backup / file.name)
        file.write_bytes(text)
    return backup


def changed_files(exercise: Exercise, ref: str | None = None) -> list[pathlib.Path]:
    ref = ref or shipped_ref(exercise.root)
    return [f for f in exercise.stub_files if f.read_bytes() != shipped_version(exercise, f, ref)]
