"""What is wrong with a submission itself, one line each, before it is graded.

An unreadable folder, no exercises/, a stub .cpp that is a symlink, a folder, a
binary or not there at all: the grader grades what remains (the shipped stub in
place of a file it cannot take), and the report says why in one line.
"""
from __future__ import annotations

import os
import pathlib
import stat

from .course import Exercise

MAX_SOURCE_BYTES = 1 << 20


def _is_binary(path: pathlib.Path) -> bool:
    with open(path, "rb") as source:
        head = source.read(8192)
    if b"\0" in head:
        return True
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as error:
        return error.start < len(head) - 4  # a character cut at the end of the sample is fine
    return False


def problems(submission: pathlib.Path, exercises: list[Exercise]) -> list[str]:
    """One line for each thing the grader cannot take from the submission."""
    name = submission.name or str(submission)
    try:
        if submission.is_symlink():
            return [f"{name} is a symbolic link, not a folder: nothing graded"]
        if not submission.is_dir():
            return [f"{name} is not a folder (or does not exist): nothing graded"]
        entries = {p.name for p in submission.iterdir()}
    except OSError as error:
        return [f"{name} cannot be read ({error.strerror or error}): nothing graded"]
    if "exercises" in entries:
        folder, shown = submission / "exercises", "exercises/"
    elif any(e[:2].isdigit() and e[2:3] == "_" for e in entries):
        folder, shown = submission, ""
    else:
        return [f"{name} has no exercises/ folder (nor NN_name/ folders): nothing to grade"]
    lines = []
    for exercise in exercises:
        for official in exercise.stub_files:
            path = folder / exercise.name / official.name
            where = f"{shown}{exercise.name}/{official.name}"
            lines += _file_problem(path, where)
    return lines


def _file_problem(path: pathlib.Path, where: str) -> list[str]:
    stub = "the shipped stub was graded"
    try:
        info = os.lstat(path)
    except FileNotFoundError:
        return [f"{where} is missing: {stub}"]
    except OSError as error:
        return [f"{where} cannot be read ({error.strerror}): {stub}"]
    if stat.S_ISLNK(info.st_mode):
        return [f"{where} is a symbolic link, not a file: {stub}"]
    if stat.S_ISDIR(info.st_mode):
        return [f"{where} is a folder, not a file: {stub}"]
    if not stat.S_ISREG(info.st_mode):
        return [f"{where} is not a regular file: {stub}"]
    if info.st_size > MAX_SOURCE_BYTES:
        return [f"{where} is over 1 MiB: {stub}"]
    try:
        if _is_binary(path):
            return [f"{where} is a binary file, not C++ source"]
    except OSError as error:
        return [f"{where} cannot be read ({error.strerror}): {stub}"]
    return []
