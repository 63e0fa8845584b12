"""Configuring and building with the repository's CMake presets."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import subprocess

from .course import ROOT

# The presets of CMakePresets.json and the folders they build in.
BUILD_DIRS = {"student": "build", "solutions": "build-solutions", "asan": "build-asan"}


@dataclasses.dataclass
class BuildResult:
    ok: bool
    output: str

    def first_error(self, context: int = 14) -> str:
        """The compiler's first error with a few lines of context: where a student looks first."""
        lines = self.output.splitlines()
        for i, line in enumerate(lines):
            if ": error:" in line or ": fatal error:" in line or "undefined reference" in line:
                return "\n".join(lines[max(0, i - 2) : i + context])
        failed = [i for i, line in enumerate(lines) if line.startswith("FAILED:")]
        start = failed[0] if failed else max(0, len(lines) - context)
        return "\n".join(lines[start : start + context])


def build_dir(preset: str, root: pathlib.Path = ROOT) -> pathlib.Path:
    return root / BUILD_DIRS[preset]


def configure(preset: str, options: dict[str, str] | None = None, root: pathlib.Path = ROOT,
              force: bool = False) -> BuildResult:
    """Configures once; later calls are free unless options are given or force is set."""
    if not force and not options and (build_dir(preset, root) / "CMakeCache.txt").exists():
        return BuildResult(True, "")
    command = ["cmake", "--preset", preset]
    command += [f"-D{key}={value}" for key, value in (options or {}).items()]
    return _run(command, root)


def build(preset: str, targets: list[str] | None = None, root: pathlib.Path = ROOT,
          jobs: int | None = None) -> BuildResult:
    command = ["cmake", "--build", str(build_dir(preset, root))]
    if targets:
        command += ["--target", *targets]
    command += ["-j", str(jobs or os.cpu_count() or 2)]
    return _run(command, root)


def _run(command: list[str], cwd: pathlib.Path) -> BuildResult:
    result = subprocess.run(command, cwd=cwd, capture_output=True, text=True, errors="replace", check=False)
    return BuildResult(result.returncode == 0, result.stdout + result.stderr)
