"""The course: which exercises exist, where their files are, their titles and hints.

An exercise is its folders and its manifest, exercises/NN_name/exercise.json: the
course is every such manifest, in name order (CMake reads the same files). The
manifest's keys are listed in docs/ARCHITECTURE.md; check() says what is wrong
with them.
"""
from __future__ import annotations

import dataclasses
import json
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]
MANIFEST = "exercise.json"

_NAME = re.compile(r"^\d\d_[A-Za-z0-9_]+$")
_HINT_ITEM = re.compile(r"^(\d+)\.\s+(.*)$")


class ManifestError(ValueError):
    """A manifest that cannot be read: the message names the file and what is wrong."""


@dataclasses.dataclass(frozen=True)
class Exercise:
    name: str  # "01_cpu_count"
    root: pathlib.Path

    @property
    def number(self) -> str:
        return self.name[:2]

    @property
    def folder(self) -> pathlib.Path:
        return self.root / "exercises" / self.name

    @property
    def manifest_path(self) -> pathlib.Path:
        return self.folder / MANIFEST

    @property
    def manifest(self) -> dict:
        return read_manifest(self.manifest_path)

    @property
    def readme(self) -> pathlib.Path:
        return self.folder / "README.md"

    @property
    def stub_files(self) -> list[pathlib.Path]:
        """The files the student edits (the manifest's "stub_files"), in exercises/."""
        return [self.folder / name for name in self.manifest.get("stub_files", [])]

    @property
    def given_files(self) -> list[pathlib.Path]:
        """Finished .cpp files handed out with the exercise: read, used, never edited or graded."""
        return [self.folder / name for name in self.manifest.get("given_files", [])]

    @property
    def headers(self) -> list[pathlib.Path]:
        """The contract: the headers beside the stubs."""
        return [self.folder / name for name in self.manifest.get("headers", [])]

    @property
    def solution_files(self) -> list[pathlib.Path]:
        """The reference versions of the stub files, same names, in solutions/."""
        return [self.root / "solutions" / self.name / name for name in self.manifest.get("stub_files", [])]

    @property
    def weight(self) -> float:
        """Its points in `kata grade`; the course's weights sum to 100."""
        return float(self.manifest.get("weight", 0))

    @property
    def explanations_file(self) -> pathlib.Path | None:
        """The student loop's failure explanations, where the manifest names a file for them."""
        name = self.manifest.get("explanations")
        return self.folder / name if name else None

    @property
    def test_file(self) -> pathlib.Path:
        return self.root / "tests" / f"{self.name}_test.cpp"

    @property
    def bench_file(self) -> pathlib.Path:
        return self.root / "bench" / f"{self.name}_bench.cpp"

    @property
    def test_target(self) -> str:
        return f"{self.name}_test"

    @property
    def bench_target(self) -> str:
        return f"{self.name}_bench"

    @property
    def title(self) -> str:
        try:
            return str(self.manifest.get("title") or self.name)
        except ManifestError:
            return self.name

    def hints(self) -> list[str]:
        try:
            text = self.readme.read_text(encoding="utf-8")
        except OSError:
            return []
        return parse_hints(text)


def read_manifest(path: pathlib.Path) -> dict:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise ManifestError(f"{path}: cannot read it ({error.strerror})") from None
    except ValueError as error:
        raise ManifestError(f"{path}: not valid JSON ({error})") from None
    if not isinstance(data, dict):
        raise ManifestError(f"{path}: must hold a JSON object")
    return data


def parse_hints(readme_text: str) -> list[str]:
    """The numbered items under the README's `## Hints` heading, in order."""
    hints: list[str] = []
    in_section = False
    for line in readme_text.splitlines():
        if line.startswith("## "):
            in_section = line[3:].strip().lower() == "hints"
            continue
        if not in_section:
            continue
        item = _HINT_ITEM.match(line)
        if item:
            hints.append(item.group(2).strip())
        elif hints and line.strip() and line.startswith(" "):
            hints[-1] += " " + line.strip()
    return hints


def exercise_names(root: pathlib.Path = ROOT) -> list[str]:
    """Every exercises/NN_name/ with a manifest, in name order: the course."""
    return sorted(p.parent.name for p in (root / "exercises").glob(f"*/{MANIFEST}") if _NAME.match(p.parent.name))


def exercises(root: pathlib.Path = ROOT) -> list[Exercise]:
    return [Exercise(name, root) for name in exercise_names(root)]


class UnknownExercise(LookupError):
    pass


def find(spec: str, root: pathlib.Path = ROOT) -> Exercise:
    """An exercise by number ("1", "01"), full name, or name without number."""
    spec = spec.strip().rstrip("/").split("/")[-1]
    course = exercises(root)
    for exercise in course:
        if spec in (exercise.name, exercise.name[3:]) or (
            spec.isdigit() and int(spec) == int(exercise.number)
        ):
            return exercise
    names = ", ".join(e.name for e in course)
    raise UnknownExercise(f"no exercise '{spec}': the course has {names}")


# What a manifest may hold, and the type of each value.
_KEYS = {
    "title": str, "weight": (int, float), "headers": list, "stub_files": list, "given_files": list,
    "own_main": bool, "mpi_ranks": list, "bench": dict, "explanations": str,
}
_REQUIRED = ("title", "weight", "headers", "stub_files")


def check(root: pathlib.Path = ROOT, with_solutions: bool = True) -> list[str]:
    """Every problem with the course's manifests, one line each; empty when all is well.

    The weights sum to 100; every file a manifest names exists; every .cpp file in
    exercises/NN_name/ is a stub or a given file, and every one in solutions/NN_name/
    is a stub's reference version; the tests and the benchmark are where the build
    looks for them.
    """
    problems = []
    for folder in sorted(p for p in (root / "exercises").iterdir() if p.is_dir()):
        if not (folder / MANIFEST).exists():
            problems.append(f"exercises/{folder.name}/ has no {MANIFEST}: it is not part of the course")
    course = exercises(root)
    total = 0.0
    for exercise in course:
        where = exercise.manifest_path.relative_to(root).as_posix()
        try:
            manifest = exercise.manifest
        except ManifestError as error:
            problems.append(str(error).replace(str(exercise.manifest_path), where))
            continue
        problems += _check_manifest(exercise, manifest, where, root, with_solutions)
        if isinstance(manifest.get("weight"), (int, float)):
            total += manifest["weight"]
    if course and abs(total - 100) > 1e-9:
        weights = ", ".join(f"{e.name} {_weight_text(e)}" for e in course)
        problems.append(f"the weights sum to {total:g}, not 100 ({weights})")
    return problems


def _weight_text(exercise: Exercise) -> str:
    try:
        return f"{exercise.weight:g}"
    except ManifestError:
        return "?"


def _check_manifest(exercise: Exercise, manifest: dict, where: str, root: pathlib.Path,
                    with_solutions: bool) -> list[str]:
    problems = [f"{where}: \"{key}\" is missing" for key in _REQUIRED if key not in manifest]
    for key, value in manifest.items():
        if key not in _KEYS:
            problems.append(f"{where}: unknown key \"{key}\" (known: {', '.join(_KEYS)})")
        elif not isinstance(value, _KEYS[key]) or (key == "weight" and isinstance(value, bool)):
            problems.append(f"{where}: \"{key}\" has the wrong type ({type(value).__name__})")
    if problems:
        return problems
    if manifest["weight"] < 0:
        problems.append(f"{where}: \"weight\" is negative")
    if not manifest["stub_files"]:
        problems.append(f"{where}: \"stub_files\" names no file")
    named = {}
    for key in ("headers", "stub_files", "given_files"):
        for name in manifest.get(key, []):
            if not isinstance(name, str) or "/" in name or name in (".", ".."):
                problems.append(f"{where}: \"{key}\" holds {name!r}, not a file name")
            elif name in named:
                problems.append(f"{where}: {name} is named twice (\"{named[name]}\" and \"{key}\")")
            else:
                named[name] = key
                if not (exercise.folder / name).is_file():
                    problems.append(f"{where} names {name} in \"{key}\", but exercises/{exercise.name}/{name} does not exist")
    for cpp in sorted(exercise.folder.glob("*.cpp")):
        if named.get(cpp.name) not in ("stub_files", "given_files"):
            problems.append(f"exercises/{exercise.name}/{cpp.name} is neither a stub nor a given file in {where}")
    solutions = root / "solutions" / exercise.name
    if with_solutions and (root / "solutions").is_dir():
        stubs = set(manifest["stub_files"])
        for name in sorted(stubs):
            if not (solutions / name).is_file():
                problems.append(f"{where}: the stub {name} has no reference version solutions/{exercise.name}/{name}")
        for other in sorted(solutions.iterdir()) if solutions.is_dir() else []:
            if other.suffix != ".cpp":
                problems.append(f"solutions/{exercise.name}/{other.name} is not a stub's reference version: a "
                                "solution is graded as the stub files it replaces, so it must fit in them")
        for cpp in sorted(solutions.glob("*.cpp")) if solutions.is_dir() else []:
            if cpp.is_symlink():
                problems.append(f"solutions/{exercise.name}/{cpp.name} is a symbolic link: a given file is "
                                "compiled from exercises/ in every build")
            elif cpp.name not in stubs:
                problems.append(f"solutions/{exercise.name}/{cpp.name} is not a stub named in {where}")
    for file in (exercise.test_file, exercise.bench_file):
        if not file.is_file():
            problems.append(f"{where}: {file.relative_to(root).as_posix()} is missing (the build needs it)")
    ranks = manifest.get("mpi_ranks", [])
    if any(not isinstance(n, int) or isinstance(n, bool) or n < 1 for n in ranks):
        problems.append(f"{where}: \"mpi_ranks\" must be whole numbers of at least 1")
    return problems
