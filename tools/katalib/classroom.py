"""GitHub Classroom's autograding, written into the student copy by `kata export-student`.

.github/classroom/autograding.json holds one test per exercise, worth its points
(its manifest's weight), each running `./kata test NN`: the command a student runs at
home. .github/workflows/classroom.yml runs them on every push (GitHub Classroom's
own autograding action reads that file), after installing the course's packages.
"""
from __future__ import annotations

import json
import pathlib

from . import course, prereqs

WORKFLOW = ".github/workflows/classroom.yml"
AUTOGRADING = ".github/classroom/autograding.json"
TEST_TIMEOUT_MINUTES = 10  # one exercise built from nothing on a hosted runner, and its tests


def autograding(root: pathlib.Path = course.ROOT) -> dict:
    overrides = json.loads((root / "grading.json").read_text(encoding="utf-8")).get("weights", {})
    tests = [{"name": f"{e.number} {e.title}", "setup": "", "run": f"./kata test {e.number}",
              "input": "", "output": "", "comparison": "included", "timeout": TEST_TIMEOUT_MINUTES,
              "points": overrides.get(e.name, e.weight)}
             for e in course.exercises(root)]
    return {"tests": tests}


def workflow() -> str:
    packages = " ".join(sorted(prereqs.PACKAGES))
    return f"""# Autograding: every push runs ./kata test NN for each exercise, the command you run
# at home, and GitHub Classroom counts the points (.github/classroom/autograding.json).
name: Autograding
on:
  push:
  workflow_dispatch:
permissions:
  checks: write
  actions: read
  contents: read
jobs:
  autograding:
    name: ./kata test, one exercise at a time
    runs-on: ubuntu-latest
    if: github.actor != 'github-classroom[bot]'
    steps:
      - uses: actions/checkout@v4
      - name: Install the course's packages
        run: sudo apt-get update -qq && sudo apt-get install -y -qq --no-install-recommends {packages}
      - name: Autograding
        uses: education/autograding@v1
"""


def write(destination: pathlib.Path, root: pathlib.Path = course.ROOT) -> list[str]:
    """Writes both files into a student copy; returns their paths, relative to it."""
    for name, text in ((WORKFLOW, workflow()), (AUTOGRADING, json.dumps(autograding(root), indent=2) + "\n")):
        target = destination / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    return [WORKFLOW, AUTOGRADING]
