"""Configuring and building with the repository's CMake presets."""
from __future__ import annotations

import dataclasses
import os
import pathlib
import re
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


def build_all(preset: str, targets: list[str], on_step=None, root: pathlib.Path = ROOT,
              jobs: int | None = None) -> BuildResult:
    """One parallel build of many targets that goes on past a broken one (ninja -k 0).

    `on_step(done, total, line)` hears each of ninja's "[n/m] ..." lines as it comes.
    The result is ok only if every target built; who failed is for the caller to ask.
    """
    command = ["cmake", "--build", str(build_dir(preset, root)), "-j", str(jobs or os.cpu_count() or 2),
               "--target", *targets, "--", "-k", "0"]
    lines = []
    with subprocess.Popen(command, cwd=root, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
                          text=True, errors="replace") as process:
        for line in process.stdout:
            lines.append(line)
            step = _NINJA_STEP.match(line)
            if step and on_step:
                on_step(int(step.group(1)), int(step.group(2)), line[step.end():].strip())
    return BuildResult(process.returncode == 0, "".join(lines))


_NINJA_STEP = re.compile(r"^\[(\d+)/(\d+)\]\s*")
