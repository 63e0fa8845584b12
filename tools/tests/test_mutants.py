"""`kata verify --mutants`: mutants are read strictly, applied exactly once, and judged."""
import contextlib
import io
import pathlib
import tempfile
import unittest

from katalib import cli, course, mutants

ROOT = course.ROOT

GOOD = '''
description = "rounds down"
file = "cpu_count.cpp"
find = "std::ceil(x)"
replace = "std::floor(x)"
expect = "RoundsUp"
'''


def mutant(find="std::ceil(x)", replace="std::floor(x)") -> mutants.Mutant:
    return mutants.Mutant("01_cpu_count", "rounds_down", "cpu_count.cpp", find, replace, "rounds down")


class ParseTest(unittest.TestCase):
    def test_a_well_formed_mutant_is_read(self):
        m = mutants.parse("01_cpu_count", "rounds_down", GOOD)
        self.assertEqual((m.file, m.find, m.replace, m.expect), ("cpu_count.cpp", "std::ceil(x)", "std::floor(x)", "RoundsUp"))

    def test_malformed_mutants_are_refused_with_the_reason(self):
        cases = {
            "not valid TOML": "description = ",
            "unknown field": GOOD + 'line = 3\n',
            "needs a text field 'find'": GOOD.replace('find = "std::ceil(x)"', ''),
            "one line": GOOD.replace('"rounds down"', '"""rounds\ndown"""'),
            "changes nothing": GOOD.replace('"std::floor(x)"', '"std::ceil(x)"'),
            "not a path": GOOD.replace('"cpu_count.cpp"', '"../cpu_count.cpp"'),
        }
        for reason, text in cases.items():
            with self.subTest(reason), self.assertRaises(mutants.MutantError) as caught:
                mutants.parse("01_cpu_count", "x", text)
            self.assertIn(reason, str(caught.exception))


class ApplyTest(unittest.TestCase):
    def test_the_find_text_is_replaced_once(self):
        self.assertEqual(mutant().apply("a = std::ceil(x);"), "a = std::floor(x);")

    def test_a_mutant_whose_text_is_gone_no_longer_applies(self):
        with self.assertRaisesRegex(mutants.MutantError, "rounds_down no longer applies"):
            mutant().apply("a = std::round(x);")

    def test_a_mutant_whose_text_occurs_twice_is_ambiguous(self):
        with self.assertRaisesRegex(mutants.MutantError, "occurs 2 times"):
            mutant().apply("std::ceil(x) + std::ceil(x)")

    def test_expect_names_a_test_in_full_or_from_a_dot_or_slash(self):
        name = "07_start_methods/StartMethods/EveryMethod.ReturnsTheTasksResult/spawn"
        self.assertTrue(mutants._matches(name, "ReturnsTheTasksResult"))
        self.assertTrue(mutants._matches(name, "EveryMethod.ReturnsTheTasksResult/spawn"))
        self.assertTrue(mutants._matches(name, name))
        self.assertFalse(mutants._matches(name, "TheTasksResult"))
        self.assertFalse(mutants._matches(name, ""))


class EveryMutantOfTheCourseTest(unittest.TestCase):
    """Cheap and early: every mutant in tests/mutants/ parses and applies to today's solutions."""

    def test_every_mutant_parses_and_applies_to_its_solution(self):
        count = 0
        for exercise in course.exercises():
            for m in mutants.load(exercise):
                count += 1
                with self.subTest(f"{exercise.name}/{m.name}"):
                    source = ROOT / "solutions" / exercise.name / m.file
                    self.assertTrue(source.is_file(), f"{m.name}: no solutions/{exercise.name}/{m.file}")
                    self.assertNotEqual(m.apply(source.read_text(encoding="utf-8")), source.read_text(encoding="utf-8"))
        self.assertGreaterEqual(count, 45)

    def test_every_exercise_has_at_least_five_mutants(self):
        for exercise in course.exercises():
            with self.subTest(exercise.name):
                self.assertGreaterEqual(len(mutants.load(exercise)), 5)


class FakeBuild:
    """An ExerciseBuild whose every mutant compiles, and that a named test catches (or none)."""

    caught_by = ""

    def __init__(self, exercise, scratch):
        self.scratch = scratch

    def build_mutant(self, m, text):
        return (self.scratch / "program", "") if "does not compile" not in m.description else (None, "x.cpp:1: error: no")

    def first_failure(self, program, expect):
        return self.caught_by


class JudgeTest(unittest.TestCase):
    def run_one(self, description, caught_by):
        exercise = course.find("01")
        source = (ROOT / "solutions/01_cpu_count/cpu_count.cpp").read_text()
        m = mutants.Mutant("01_cpu_count", "m", "cpu_count.cpp", source.splitlines()[0], "// changed", description)
        FakeBuild.caught_by = caught_by
        with tempfile.TemporaryDirectory() as tmp, contextlib.redirect_stdout(io.StringIO()):
            return mutants.run_exercise(exercise, [m], pathlib.Path(tmp), make_build=FakeBuild)[0]

    def test_a_mutant_a_test_fails_on_is_caught_by_that_test(self):
        outcome = self.run_one("a mistake", "01_cpu_count/T.t")
        self.assertEqual((outcome.status, outcome.caught_by), ("caught", "01_cpu_count/T.t"))

    def test_a_mutant_that_passes_every_test_survived(self):
        self.assertEqual(self.run_one("a mistake", "").status, "survived")

    def test_a_mutant_that_does_not_compile_is_broken(self):
        outcome = self.run_one("does not compile", "")
        self.assertEqual(outcome.status, "broken")
        self.assertIn("does not compile", outcome.detail)

    def test_the_table_names_the_test_that_caught_each_mutant(self):
        outcome = self.run_one("a mistake", "01_cpu_count/T.t")
        table = mutants.report([outcome, mutants.Outcome(outcome.mutant, "survived", seconds=2.0)])
        self.assertRegex(table, r"01_cpu_count\s+m\s+T\.t\s+\d+\.\d s")
        self.assertIn("SURVIVED", table)


class CliTest(unittest.TestCase):
    def test_verify_help_offers_mutants(self):
        out = io.StringIO()
        with contextlib.redirect_stdout(out), self.assertRaises(SystemExit):
            cli.main(["verify", "--help"])
        self.assertIn("--mutants", out.getvalue())


if __name__ == "__main__":
    unittest.main()
