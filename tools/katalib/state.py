"""The front end's memory between runs, in .kata/ (not part of the repository)."""
from __future__ import annotations

import hashlib
import json
import pathlib

from .course import ROOT, Exercise


def _path(name: str, root: pathlib.Path = ROOT) -> pathlib.Path:
    return root / ".kata" / name


def load(name: str, root: pathlib.Path = ROOT) -> dict:
    try:
        return json.loads(_path(name, root).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}


def save(name: str, data: dict, root: pathlib.Path = ROOT) -> None:
    path = _path(name, root)
    path.parent.mkdir(exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(data, indent=1, sort_keys=True), encoding="utf-8")
    tmp.replace(path)


def fingerprint(exercise: Exercise) -> str:
    """A hash of everything a test result depends on: when it is unchanged, so is the result."""
    digest = hashlib.sha256()
    files = [*exercise.folder.rglob("*.?pp"), exercise.manifest_path, exercise.test_file,
             *(exercise.root / "common").rglob("*.?pp"), exercise.root / "CMakeLists.txt"]
    for file in sorted(set(files)):
        if file.is_file():
            digest.update(str(file.relative_to(exercise.root)).encode())
            digest.update(file.read_bytes())
    return digest.hexdigest()
