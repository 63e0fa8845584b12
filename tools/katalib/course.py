"""The course: which exercises exist, where their files are, their titles and hints.

The list of exercises is read from the top-level CMakeLists.txt (the
`kata_exercise(NN_name)` lines), so adding an exercise there is all it takes.
"""
from __future__ import annotations

import dataclasses
import pathlib
import re

ROOT = pathlib.Path(__file__).resolve().parents[2]

_EXERCISE_LINE = re.compile(r"^\s*kata_exercise\(\s*(\d\d_[A-Za-z0-9_]+)", re.MULTILINE)
_HINT_ITEM = re.compile(r"^(\d+)\.\s+(.*)$")


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
    def readme(self) -> pathlib.Path:
        return self.folder / "README.md"

    @property
    def stub_files(self) -> list[pathlib.Path]:
        """The files the student edits: the .cpp files beside the header."""
        return sorted(self.folder.glob("*.cpp"))

    @property
    def solution_files(self) -> list[pathlib.Path]:
        return sorted((self.root / "solutions" / self.name).glob("*.cpp"))

    @property
    def test_file(self) -> pathlib.Path:
        return self.root / "tests" / f"{self.name}_test.cpp"

    @property
    def test_target(self) -> str:
        return f"{self.name}_test"

    @property
    def bench_target(self) -> str:
        return f"{self.name}_bench"

    @property
    def title(self) -> str:
        """The README's first heading, without the "NN ·" in front."""
        try:
            first = self.readme.read_text(encoding="utf-8").splitlines()[0]
        except (OSError, IndexError):
            return self.name
        title = first.lstrip("#").strip()
        return re.sub(r"^\d\d\s*[·:.-]\s*", "", title)

    def hints(self) -> list[str]:
        try:
            text = self.readme.read_text(encoding="utf-8")
        except OSError:
            return []
        return parse_hints(text)


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
    text = (root / "CMakeLists.txt").read_text(encoding="utf-8")
    return _EXERCISE_LINE.findall(text)


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
