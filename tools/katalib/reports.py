"""Grading reports: Markdown for people, Gradescope's results.json, JUnit XML, CSV.

Every report lists each test: its name, how it ended, its own message and its
time, with the exercise's points split evenly over its tests. Everything that
comes from graded code (test output, compiler errors, even test names, which a
test binary prints) is hostile: it is cleaned (no terminal escapes, no control
bytes, no grader paths: a path is shown relative to the exercise), cut to size,
and escaped for the format it lands in.
"""
from __future__ import annotations

import csv
import dataclasses
import io
import re
import xml.etree.ElementTree as ElementTree

from . import ctest
from .course import ROOT
from .grade import ExerciseGrade, SubmissionGrade

MESSAGE_LIMIT = 4000  # characters of one test's message, in any report
CELL_LIMIT = 120  # characters of a Markdown table cell

# ctest's JUnit file writes a byte XML cannot hold as text: ESC is "[NON-XML-CHAR-0x1B]".
_CTEST_PLACEHOLDER = re.compile(r"\[NON-XML-CHAR-0x([0-9A-Fa-f]{1,2})\]")
_ANSI = re.compile(r"\x1b(?:\[[0-?]*[ -/]*[@-~]|\][^\x07\x1b]*(?:\x07|\x1b\\)?|[@-Z\\-_])")
# C0 and C1 controls but tab and newline, and the two non-characters XML refuses.
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\ufffe\uffff]")
# The grader's work folder, wherever its temporary folder is: /tmp/kata-grade-x1y2/ (or --bench's).
_WORK_DIR = r"(?:/[\w.+-]+)*/kata-(?:grade|bench)-[\w.-]+(?:/student)?"
_UNDER_WORK = r"/(?:(?:src|build)/exercises/\d\d_\w+/|src/)?"
_GTEST_BANNER = re.compile(r"^\[ *(RUN|OK|FAILED|PASSED|SKIPPED|==========|----------) *\]")
# Lines of gtest that say nothing of their own: a bare location, its fixed phrases, its banners.
_LOCATION_ONLY = re.compile(r"(?::-?\d+|^unknown file): Failure$|^\S+:-?\d+$|^unknown file$|"
                            r"^(Expected equality of these values:|Failed|"
                            r"Google Test trace:)$|^\[ *(RUN|OK|FAILED|PASSED|==========|----------) *\]")
# A compiler's line that names an error (ninja's "FAILED: target.o" line does not).
_COMPILER_ERROR = re.compile(r"\b(?:fatal )?error:")


def clean(text: str, work_dir: str = "") -> str:
    """Text from graded code as a student may read it: no terminal escapes, no
    control bytes, no grader paths (an exercise's file is shown by its name, any
    other file of the course relative to the course)."""
    text = _CTEST_PLACEHOLDER.sub(lambda m: chr(int(m.group(1), 16)), text)
    text = _ANSI.sub("", text).replace("\r\n", "\n").replace("\r", "\n")
    text = _CONTROL.sub("", text)
    roots = [re.escape(work_dir.rstrip("/"))] if work_dir.strip("/") else []
    text = re.sub(f"(?:{'|'.join([*roots, _WORK_DIR])}){_UNDER_WORK}", "", text)
    return text.replace(f"{ROOT}/", "")


def cut(text: str, limit: int = MESSAGE_LIMIT) -> str:
    if len(text) <= limit:
        return text
    return text[:limit].rstrip() + f"\n... ({len(text) - limit} more characters cut)"


def test_message(test: ctest.TestResult, work_dir: str = "") -> str:
    """What a test says about itself: how it ended, then its own failure text."""
    how = {"timeout": "timed out", "crashed": "crashed", "not run": "did not run"}.get(test.status, "")
    if how and test.detail:
        how += f" ({test.detail})"
    output = clean(test.output, work_dir)  # first: a coloured "[ RUN ]" is not found by its text
    said = ctest.failure_excerpt(output) if output else ""
    if not said:  # no gtest failure block (a crash, a timeout): the last lines it printed
        said = "\n".join([l for l in output.splitlines() if l.strip() and not _GTEST_BANNER.match(l)][-25:])
    return cut("\n".join(part for part in (how, said) if part).strip())


@dataclasses.dataclass
class TestLine:
    """One test as every report shows it."""
    exercise: str
    number: str  # "02.5": the exercise's number, then the test's place in it
    name: str  # "02_pool_map/ProcessPoolTest.X"; for 09 "09_mpi_map/4_ranks/Suite.Test"
    status: str  # passed | failed | crashed | timeout | not run | skipped | does not compile
    seconds: float
    score: float
    max_score: float
    message: str

    @property
    def failed(self) -> bool:
        """It applied and did not pass (a test that skipped itself did not apply)."""
        return self.status not in ("passed", "skipped")


def test_lines(grade: ExerciseGrade, work_dir: str = "") -> list[TestLine]:
    """The exercise's tests, its points split evenly over those that apply (a test that
    skipped itself carries none). An exercise that does not compile (or ran no test) is
    one line carrying all its points."""
    number = grade.name[:2]
    if not grade.compiled or not grade.tests:
        status = "does not compile" if not grade.compiled else "failed"
        message = cut(clean("\n".join([*grade.notes, grade.message]), work_dir).strip())
        return [TestLine(grade.name, f"{number}.0", clean(grade.name), status, 0.0, 0.0, grade.weight,
                         message or "no test ran")]
    share = grade.weight / grade.total if grade.total else 0.0  # total: the tests that apply
    return [TestLine(grade.name, f"{number}.{index}", clean(test.name, work_dir), test.status, test.seconds,
                     round(share if test.passed else 0.0, 4), 0.0 if test.skipped else round(share, 4),
                     "" if test.passed else test_message(test, work_dir))
            for index, test in enumerate(grade.tests, 1)]


def _bench(submission: SubmissionGrade) -> list:
    return list(getattr(submission, "bench", []) or [])


def total_score(submission: SubmissionGrade) -> tuple[float, float]:
    """The tests' points plus any speed points of `kata grade --bench`."""
    bench = _bench(submission)
    return (round(submission.score + sum(b.points for b in bench), 2),
            round(submission.max_score + sum(b.max_points for b in bench), 2))


def _problems(submission: SubmissionGrade) -> list[str]:
    """The lines every report puts first: what protection the grader lacked, then what was
    wrong with the submission itself."""
    lines = [f"graded without full isolation: {submission.isolation}"] if submission.isolation else []
    lines += getattr(submission, "problems", []) or []
    return [clean(line, submission.work_dir) for line in lines]


# --- Markdown -------------------------------------------------------------------------------

_MD_PUNCTUATION = re.compile(r"([\\`*\[\]<>|~&!#])|(?<![A-Za-z0-9])_|_(?![A-Za-z0-9])")


def md_cell(text: str, limit: int = CELL_LIMIT) -> str:
    """Text that stays inside one Markdown table cell and renders as itself."""
    text = " ".join(text.split())
    if len(text) > limit:
        text = text[: limit - 3] + "..."
    return _MD_PUNCTUATION.sub(lambda m: "\\" + m.group(0), text)


def md_block(text: str) -> list[str]:
    """A fenced block that no backtick run in the text can close."""
    longest = max((len(run) for run in re.findall(r"`+", text)), default=0)
    fence = "`" * max(3, longest + 1)
    return [fence + "text", text, fence]


def _first_line(message: str) -> str:
    """The message's first line that says something: not gtest's bare "file:line: Failure"."""
    lines = [line.strip() for line in message.splitlines() if line.strip()]
    return next((line for line in lines if not _LOCATION_ONLY.search(line)), lines[0] if lines else "")


def _first_error(message: str) -> str:
    """A build's first line that names an error (not ninja's "FAILED: target.o")."""
    return next((line.strip() for line in message.splitlines() if _COMPILER_ERROR.search(line)),
                _first_line(message))


def _summary(line: TestLine) -> str:
    """A failure in one line: the compiler's first error, or the test's first sentence."""
    return _first_error(line.message) if line.status == "does not compile" else _first_line(line.message)


def markdown(submissions: list[SubmissionGrade]) -> str:
    out = ["# Grading report", ""]
    for submission in submissions:
        work = submission.work_dir
        score, max_score = total_score(submission)
        out += [f"## {md_cell(clean(submission.submission, work))}: {score:g} / {max_score:g}", "",
                f"Graded in {submission.seconds:.0f} s.", ""]
        problems = _problems(submission)
        out += [f"- {md_cell(problem, MESSAGE_LIMIT)}" for problem in problems] + ([""] if problems else [])
        out += ["| exercise | tests | points | first failure |", "| --- | --- | --- | --- |"]
        lines = {grade.name: test_lines(grade, work) for grade in submission.exercises}
        for grade in submission.exercises:
            failing = next((line for line in lines[grade.name] if line.failed), None)
            tests = f"{grade.passed}/{grade.total}" if grade.compiled else "does not compile"
            first = "" if failing is None else md_cell(f"{failing.name.split('/', 1)[-1]}: {_summary(failing)}")
            out.append(f"| {md_cell(grade.name)} | {tests} | {grade.points:g} / {grade.weight:g} | {first} |")
        for bench in _bench(submission):
            out.append(f"| {md_cell(bench.exercise)} speed | {md_cell(bench.summary())} "
                       f"| {bench.points:g} / {bench.max_points:g} | |")
        out.append("")
        for grade in submission.exercises:
            out += _markdown_exercise(grade, lines[grade.name], work)
    return "\n".join(out)


def _markdown_exercise(grade: ExerciseGrade, lines: list[TestLine], work_dir: str) -> list[str]:
    out = [f"### {md_cell(grade.name)}", ""]
    out += [f"- {md_cell(clean(note, work_dir), MESSAGE_LIMIT)}" for note in grade.notes]
    if grade.notes:
        out.append("")
    if not grade.compiled or not grade.tests:
        if lines[0].message:
            out += md_block(lines[0].message) + [""]
        return out
    out += ["| # | test | result | time | points |", "| --- | --- | --- | --- | --- |"]
    out += [f"| {line.number} | {md_cell(line.name.split('/', 1)[-1])} | {line.status} | {line.seconds:.2f} s "
            f"| {line.score:g} / {line.max_score:g} |" for line in lines]
    out.append("")
    for line in lines:
        if line.failed and line.message:
            out += [f"#### {line.number} {md_cell(line.name.split('/', 1)[-1])}: {line.status}", ""]
            out += md_block(line.message) + [""]
    return out


# --- Gradescope ----------------------------------------------------------------------------


def gradescope(submission: SubmissionGrade, visibility: str = "visible",
               stdout_visibility: str = "hidden") -> dict:
    """Gradescope's results.json for one submission, as its autograder specification
    documents it: one entry per test, a leaderboard where speed was measured."""
    work = submission.work_dir
    tests = []
    for problem in _problems(submission):
        tests.append({"name": "submission", "number": "00.0", "score": 0, "max_score": 0,
                      "status": "failed", "output": problem, "visibility": visibility})
    for grade in submission.exercises:
        if grade.notes and grade.compiled and grade.tests:
            tests.append({"name": f"{grade.name}: about your files", "number": f"{grade.name[:2]}.0",
                          "score": 0, "max_score": 0, "status": "failed", "visibility": visibility,
                          "output": cut(clean("\n".join(grade.notes), work))})
        for line in test_lines(grade, work):
            tests.append({
                "name": line.name + ("" if line.status in ("passed", "failed") else f" ({line.status})"),
                "number": line.number,
                "score": line.score,
                "max_score": line.max_score,
                "status": "failed" if line.failed else "passed",
                "output": line.message if line.message else f"passed in {line.seconds:.2f} s",
                "visibility": visibility,
            })
    bench = _bench(submission)
    for result in bench:
        tests.append({"name": f"{result.exercise} speed", "number": f"{result.exercise[:2]}.99",
                      "score": result.points, "max_score": result.max_points,
                      "status": "passed" if result.points >= result.max_points else "failed",
                      "output": cut(clean(result.summary(), work)), "visibility": visibility})
    score, max_score = total_score(submission)
    passed = sum(g.passed for g in submission.exercises)
    total = sum(g.total for g in submission.exercises)
    data = {
        "score": score,
        "execution_time": round(submission.seconds),
        "output": f"{score:g} / {max_score:g} points: {passed} of {total} tests pass.",
        "output_format": "text",
        "test_output_format": "text",
        "test_name_format": "text",
        "stdout_visibility": stdout_visibility,
        "tests": tests,
        # Gradescope takes the maximum from the assignment; a gradebook reading this file gets it here.
        "extra_data": {"submission": clean(submission.submission, work), "max_score": max_score},
    }
    board = [{"name": f"{b.exercise} speed (x reference)", "value": round(b.ratio, 3), "order": "desc"}
             for b in bench if b.ratio is not None]
    if bench:
        data["leaderboard"] = board
    return data


# --- JUnit --------------------------------------------------------------------------------


def junit(submissions: list[SubmissionGrade]) -> str:
    suites = ElementTree.Element("testsuites")
    for submission in submissions:
        work = submission.work_dir
        name = clean(submission.submission, work)
        for grade in submission.exercises:
            lines = test_lines(grade, work)
            failures = sum(line.status in ("failed", "does not compile") for line in lines)
            errors = sum(line.status in ("crashed", "timeout") for line in lines)
            skipped = sum(line.status in ("not run", "skipped") for line in lines)
            suite = ElementTree.SubElement(
                suites, "testsuite", name=f"{name}:{grade.name}", tests=str(len(lines)),
                failures=str(failures), errors=str(errors), skipped=str(skipped),
                time=f"{sum(line.seconds for line in lines):.3f}")
            problems = _problems(submission) + [clean(n, work) for n in grade.notes]
            if problems:
                properties = ElementTree.SubElement(suite, "properties")
                for problem in problems:
                    ElementTree.SubElement(properties, "property", name="note", value=problem)
            for line in lines:
                classname, _, short = line.name.rpartition("/")
                case = ElementTree.SubElement(suite, "testcase", name=short or line.name,
                                              classname=(classname or grade.name).replace("/", "."),
                                              time=f"{line.seconds:.3f}")
                if line.status == "passed":
                    continue
                first = _first_line(line.message)[:200]
                if line.status in ("not run", "skipped"):
                    ElementTree.SubElement(case, "skipped", message=first or line.status)
                else:
                    kind = "error" if line.status in ("crashed", "timeout") else "failure"
                    ElementTree.SubElement(case, kind, message=first or line.status,
                                           type=line.status).text = line.message
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)


# --- CSV ----------------------------------------------------------------------------------


def _csv_safe(value):
    """A text cell a spreadsheet will not run as a formula."""
    if isinstance(value, str) and value[:1] in ("=", "+", "-", "@", "\t", "\r"):
        return "'" + value
    return value


def class_csv(submissions: list[SubmissionGrade]) -> str:
    """One row per submission: its score and each exercise's points (a gradebook's columns)."""
    names = [g.name for g in submissions[0].exercises] if submissions else []
    benched = sorted({b.exercise for s in submissions for b in _bench(s)})
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "score", "max_score", *names, *(f"{n} speed" for n in benched)])
    for submission in submissions:
        score, max_score = total_score(submission)
        speed = {b.exercise: b.points for b in _bench(submission)}
        writer.writerow([_csv_safe(clean(submission.submission, submission.work_dir)), score, max_score,
                         *(g.points for g in submission.exercises), *(speed.get(n, "") for n in benched)])
    return buffer.getvalue()


def tests_csv(submissions: list[SubmissionGrade]) -> str:
    """One row per submission and test: what failed across a class, and why."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "exercise", "number", "test", "status", "seconds", "score", "max_score",
                     "message"])
    for submission in submissions:
        who = _csv_safe(clean(submission.submission, submission.work_dir))
        for grade in submission.exercises:
            for line in test_lines(grade, submission.work_dir):
                writer.writerow([who, line.exercise, line.number, _csv_safe(line.name), line.status,
                                 f"{line.seconds:.3f}", line.score, line.max_score,
                                 _csv_safe(_first_line(line.message)[:300])])
    return buffer.getvalue()
