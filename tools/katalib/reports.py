"""Grading reports: Markdown for people, Gradescope JSON for an LMS, JUnit XML, a class CSV."""
from __future__ import annotations

import csv
import io
import xml.etree.ElementTree as ElementTree

from .grade import ExerciseGrade, SubmissionGrade


def _first_line(text: str, limit: int = 100) -> str:
    """The test's name and the first line that says something: not gtest's bare
    "file:line: Failure" location lines."""
    head, _, body = text.partition(": ")
    useful = (l.strip() for l in body.splitlines())
    said = next((l for l in useful if l and not l.endswith("Failure")), "")
    line = f"{head}: {said}" if said else head
    return line if len(line) <= limit else line[: limit - 3] + "..."


def _status(grade: ExerciseGrade) -> str:
    if not grade.compiled:
        return "does not compile"
    return f"{grade.passed}/{grade.total}"


def markdown(submissions: list[SubmissionGrade]) -> str:
    out = ["# Grading report", ""]
    for submission in submissions:
        out += [f"## {submission.submission}: {submission.score:g} / {submission.max_score:g}",
                "", f"Graded in {submission.seconds:.0f} s.", "",
                "| exercise | tests | points | first failure |", "| --- | --- | --- | --- |"]
        for grade in submission.exercises:
            if grade.compiled:
                failure = _first_line(grade.message)
            else:
                failure = next((l.strip() for l in grade.message.splitlines() if "error" in l), "")[:100]
            failure = failure.replace("|", "\\|")
            out.append(f"| {grade.name} | {_status(grade)} | {grade.points:g} / {grade.weight:g} | {failure} |")
        out.append("")
        for grade in submission.exercises:
            if grade.message or grade.notes:
                out += [f"### {grade.name}", ""]
                out += [f"- {note}" for note in grade.notes]
                if grade.message:
                    out += ["", "```", grade.message.rstrip(), "```"]
                out.append("")
    return "\n".join(out)


def gradescope(submission: SubmissionGrade) -> dict:
    """Gradescope's results.json: a score, and one entry per exercise."""
    tests = []
    for grade in submission.exercises:
        output = "\n".join([*grade.notes, grade.message]).strip()
        tests.append({
            "name": f"{grade.name} ({_status(grade)} tests)",
            "score": grade.points,
            "max_score": grade.weight,
            "status": "passed" if grade.compiled and grade.total and grade.passed == grade.total else "failed",
            "output": output,
        })
    return {
        "score": submission.score,
        "max_score": submission.max_score,
        "execution_time": round(submission.seconds),
        "output": f"{submission.submission}: {submission.score:g} / {submission.max_score:g}",
        "tests": tests,
    }


def junit(submissions: list[SubmissionGrade]) -> str:
    suites = ElementTree.Element("testsuites")
    for submission in submissions:
        for grade in submission.exercises:
            suite = ElementTree.SubElement(suites, "testsuite", name=f"{submission.submission}:{grade.name}",
                                           tests=str(max(grade.total, 1)),
                                           failures=str(grade.total - grade.passed if grade.compiled else 1))
            if not grade.compiled:
                case = ElementTree.SubElement(suite, "testcase", name="compile", classname=grade.name)
                ElementTree.SubElement(case, "failure", message="does not compile").text = grade.message
                continue
            for test in grade.tests:
                case = ElementTree.SubElement(suite, "testcase", name=test.short_name,
                                              classname=grade.name, time=f"{test.seconds:.3f}")
                if not test.passed:
                    ElementTree.SubElement(case, "failure", message=test.status).text = test.output[-4000:]
    ElementTree.indent(suites)
    return ElementTree.tostring(suites, encoding="unicode", xml_declaration=True)


def class_csv(submissions: list[SubmissionGrade]) -> str:
    names = [g.name for g in submissions[0].exercises] if submissions else []
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(["submission", "score", "max_score", *names])
    for submission in submissions:
        writer.writerow([submission.submission, submission.score, submission.max_score,
                         *(g.points for g in submission.exercises)])
    return buffer.getvalue()
