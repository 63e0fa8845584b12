"""`kata autograder gradescope`: the zip an instructor uploads to Gradescope.

Gradescope unpacks the zip into /autograder/source, runs setup.sh once (as root)
when it builds its image, then run_autograder for every submission, which must
leave /autograder/results/results.json. Ours grades with `kata grade`, the same
code that runs everywhere else. Every path the two scripts use can be overridden
by an environment variable (KATA_AUTOGRADER_ROOT, _SOURCE, _SUBMISSION, _RESULTS,
_COURSE), so that a test runs them against a fake /autograder in a temporary folder.
"""
from __future__ import annotations

import pathlib
import shlex
import stat
import zipfile

from . import export, prereqs
from .course import ROOT

# What the grader needs beside the course's own packages (prereqs.PACKAGES).
GRADER_PACKAGES = ("python3", "bubblewrap")
# Left out of the zip: what only the course's maintainers use.
LEFT_OUT = (".ci/", "tools/tests/", ".github/", "Dockerfile", ".dockerignore")
ZIP_NAME = "kata-gradescope.zip"

_PATHS = """\
AUTOGRADER=${KATA_AUTOGRADER_ROOT:-/autograder}
SOURCE=${KATA_AUTOGRADER_SOURCE:-$AUTOGRADER/source}
COURSE=${KATA_AUTOGRADER_COURSE:-$SOURCE/course}
"""


def packages() -> list[str]:
    return sorted({*prereqs.PACKAGES, *GRADER_PACKAGES})


def setup_script() -> str:
    return f"""#!/usr/bin/env bash
# Gradescope runs this once, as root, when it builds the autograder's image:
# it installs what the course needs and builds the pristine course once, so that
# a broken image fails here, at upload, and not on a student's submission.
set -euo pipefail
{_PATHS}
if [ -z "${{KATA_AUTOGRADER_SKIP_APT:-}}" ]; then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends {' '.join(packages())}
fi
cmake -S "$COURSE" -B "$COURSE/build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo \\
  -DKATA_IMPLEMENTATION=exercises -DKATA_BUILD_BENCH=OFF
cmake --build "$COURSE/build"
# The reference solutions (only in a zip made with --bench) stay out of the
# submissions' reach: their code runs as a user of its own.
if [ -d "$COURSE/solutions" ]; then
  chmod -R go-rwx "$COURSE/solutions"
fi
echo "kata autograder: set up in $COURSE"
"""


def run_script(options: list[str]) -> str:
    baked = " ".join(shlex.quote(o) for o in options)
    return f"""#!/usr/bin/env bash
# Gradescope runs this for every submission: it grades /autograder/submission (a
# student's repository, or its exercises/ folder) with `kata grade` and writes
# /autograder/results/results.json. The Markdown report goes to standard output,
# which Gradescope shows to instructors only.
set -uo pipefail
{_PATHS}SUBMISSION=${{KATA_AUTOGRADER_SUBMISSION:-$AUTOGRADER/submission}}
RESULTS=${{KATA_AUTOGRADER_RESULTS:-$AUTOGRADER/results}}
mkdir -p "$RESULTS"
rm -f "$RESULTS/results.json"
# KATA_AUTOGRADER_ARGS: more options for `kata grade` (e.g. --exercises 01 04).
# shellcheck disable=SC2086
python3 "$COURSE/kata" grade "$SUBMISSION" --json "$RESULTS/results.json" {baked} ${{KATA_AUTOGRADER_ARGS:-}}
status=$?
if [ ! -s "$RESULTS/results.json" ]; then
  # The grader itself failed: say so to the student rather than leave Gradescope without results.
  python3 - "$RESULTS/results.json" "$status" <<'PY'
import json, sys
json.dump({{"score": 0, "output": "The autograder could not grade this submission (exit status "
           + sys.argv[2] + "). Your instructor can see why in the autograder's log.",
           "stdout_visibility": "hidden"}}, open(sys.argv[1], "w"))
PY
fi
exit 0
"""


def course_files(bench: bool) -> list[str]:
    left_out = LEFT_OUT if bench else (*LEFT_OUT, "solutions/")
    return [f for f in export.tracked_files(ROOT) if not f.startswith(left_out)]


def build_zip(out_dir: pathlib.Path, bench: bool = False, exercises: list[str] | None = None) -> pathlib.Path:
    """Writes OUT_DIR/kata-gradescope.zip: setup.sh and run_autograder at its root, the course in course/."""
    options = (["--bench"] if bench else []) + (["--exercises", *exercises] if exercises else [])
    out_dir.mkdir(parents=True, exist_ok=True)
    target = out_dir / ZIP_NAME
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in (("setup.sh", setup_script()), ("run_autograder", run_script(options))):
            _add(archive, name, text.encode(), 0o755)
        for name in course_files(bench):
            path = (ROOT / name).resolve()  # a link (solutions/07's) is stored as the file it names
            if not path.is_file() or not path.is_relative_to(ROOT):
                continue
            _add(archive, f"course/{name}", path.read_bytes(), stat.S_IMODE(path.stat().st_mode))
    return target


def _add(archive: zipfile.ZipFile, name: str, data: bytes, mode: int) -> None:
    info = zipfile.ZipInfo(name, date_time=(2024, 1, 1, 0, 0, 0))
    info.external_attr = (stat.S_IFREG | mode) << 16
    info.compress_type = zipfile.ZIP_DEFLATED
    archive.writestr(info, data)


def extract(zip_path: pathlib.Path, destination: pathlib.Path) -> None:
    """Unzips keeping the files' modes, as Gradescope does (Python's zipfile drops them)."""
    with zipfile.ZipFile(zip_path) as archive:
        for info in archive.infolist():
            path = archive.extract(info, destination)
            mode = (info.external_attr >> 16) & 0o777
            if mode:
                pathlib.Path(path).chmod(mode)
