"""`kata export-student DIR`: the repository as students receive it.

Everything a student needs (the exercises, tests, benchmarks, common/, the
build and the front end) and nothing they should not see: no reference
solutions, no instructor configuration, no CI of the course itself. The copy is
a git repository of one commit, so that `kata reset` finds the shipped stubs.
"""
from __future__ import annotations

import pathlib
import shutil
import subprocess

from . import classroom
from .course import ROOT

# Paths (relative, POSIX) left out of the student copy, and folders left out whole.
EXCLUDED_FOLDERS = ("solutions/", ".ci/", "tools/tests/")
EXCLUDED_FILES = ("grading.json",)


def tracked_files(root: pathlib.Path = ROOT) -> list[str]:
    listed = subprocess.run(["git", "-C", str(root), "ls-files", "-z"], capture_output=True, check=True)
    return [name for name in listed.stdout.decode().split("\0") if name]


def student_files(root: pathlib.Path = ROOT) -> list[str]:
    return [f for f in tracked_files(root)
            if not f.startswith(EXCLUDED_FOLDERS) and f not in EXCLUDED_FILES]


def export(destination: pathlib.Path, root: pathlib.Path = ROOT) -> list[str]:
    if destination.exists() and any(destination.iterdir()):
        raise FileExistsError(f"{destination} exists and is not empty")
    files = student_files(root)
    for name in files:
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(root / name, target)
    files += classroom.write(destination, root)  # GitHub Classroom's autograding (issue 14)
    git = ["git", "-C", str(destination), "-c", "user.name=kata", "-c", "user.email=kata@localhost"]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-qm", "The parallel kata: student copy"], check=True)
    return files
