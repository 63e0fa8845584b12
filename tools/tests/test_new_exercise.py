"""An exercise is its folders and its manifest, and nothing else: proved on a copy of the course.

In a scratch copy, two tiny exercises are added exactly as docs/ARCHITECTURE.md says (folders and
manifest, no other file touched): 10_twice is listed, built, tested (its stub fails, its solution
passes), benchmarked, and found by what `kata grade` reads. Then 11_early's stub gets a static
initializer that throws, and then one that hangs: its test binary cannot even list its tests, yet
`kata test 10` still runs 10's tests, and `kata test 11` reports the broken binary as one failing
test. Tiny exercises, one build tree: the whole class builds little beyond common/.
"""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest

from katalib import course

ROOT = course.ROOT

HEADER = """// Exercise 10: the smallest exercise there is.
#pragma once

#include <cstdint>

namespace kata {

// 2 * x.
[[nodiscard]] std::int64_t twice(std::int64_t x);

}  // namespace kata
"""
STUB = """#include "twice.hpp"

#include <kata/errors.hpp>

namespace kata {

std::int64_t twice([[maybe_unused]] std::int64_t x) {
  throw NotImplemented("twice");
}

}  // namespace kata
"""
SOLUTION = """#include "twice.hpp"

namespace kata {

std::int64_t twice(std::int64_t x) {
  return 2 * x;
}

}  // namespace kata
"""
TEST = """#include "twice.hpp"

#include <gtest/gtest.h>

TEST(Twice, DoublesNegativeZeroAndPositive) {
  EXPECT_EQ(kata::twice(-4), -8);
  EXPECT_EQ(kata::twice(0), 0);
  EXPECT_EQ(kata::twice(21), 42);
}
"""
BENCH = """#include "twice.hpp"

#include <benchmark/benchmark.h>

#include <exception>

namespace {

void BM_twice(benchmark::State& state) {
  std::int64_t x = 1;
  for (auto _ : state) {
    try {
      benchmark::DoNotOptimize(x = kata::twice(x) % 1000);
    } catch (const std::exception& error) {
      state.SkipWithError(error.what());
      break;
    }
  }
}
BENCHMARK(BM_twice);

}  // namespace
"""
# 11_early: an exercise whose stub may break its test binary before main().
EARLY_STUB = """#include "early.hpp"

#include <kata/errors.hpp>
{before_main}
namespace kata {{

int early() {{
  throw NotImplemented("early");
}}

}}  // namespace kata
"""
THROWS = """
#include <stdexcept>

namespace {
const int thrown = [] { throw std::runtime_error("a static initializer threw"); return 0; }();
}
"""
HANGS = """
#include <unistd.h>

namespace {
const int hung = [] { for (;;) ::pause(); return 0; }();
}
"""


def _not_sources(folder: str, names: list[str]) -> set[str]:
    at_top = pathlib.Path(folder) == ROOT
    return {n for n in names if n in (".git", ".kata", "__pycache__") or (at_top and n.startswith("build"))}


def add_exercise(root: pathlib.Path, name: str, weight: int, header: tuple[str, str], stub: tuple[str, str],
                 solution: str, test: str, bench: str, title: str) -> None:
    """An exercise as docs/ARCHITECTURE.md says: its folders and its manifest, nothing else."""
    folder, solutions = root / "exercises" / name, root / "solutions" / name
    folder.mkdir()
    solutions.mkdir()
    (folder / "README.md").write_text(f"# {name[:2]} · {title}\n\n## Hints\n\n1. Read the header.\n")
    (folder / header[0]).write_text(header[1])
    (folder / stub[0]).write_text(stub[1])
    (solutions / stub[0]).write_text(solution)
    (root / "tests" / f"{name}_test.cpp").write_text(test)
    (root / "bench" / f"{name}_bench.cpp").write_text(bench)
    (folder / "exercise.json").write_text(json.dumps(
        {"title": title, "weight": weight, "headers": [header[0]], "stub_files": [stub[0]], "given_files": []},
        indent=2))


@unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja"), "needs cmake and ninja")
class NewExerciseTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-new-exercise-"))
        copy = cls.copy = cls.scratch / "repo"
        shutil.copytree(ROOT, copy, ignore=_not_sources)
        # Weights stay at 100: 02 gives 10 of its points to the new exercise.
        manifest = copy / "exercises/02_pool_map/exercise.json"
        manifest.write_text(re.sub(r'"weight": \d+', '"weight": 5', manifest.read_text()))
        add_exercise(copy, "10_twice", 10, ("twice.hpp", HEADER), ("twice.cpp", STUB), SOLUTION, TEST, BENCH,
                     "Twice")
        add_exercise(copy, "11_early", 0, ("early.hpp", "#pragma once\nnamespace kata {\nint early();\n}\n"),
                     ("early.cpp", EARLY_STUB.format(before_main="")),
                     EARLY_STUB.format(before_main="").replace('throw NotImplemented("early");', "return 1;"),
                     '#include "early.hpp"\n#include <gtest/gtest.h>\nTEST(Early, One) { EXPECT_EQ(kata::early(), 1); }\n',
                     "#include <benchmark/benchmark.h>\n", "Early")
        cls.problems = course.check(copy)
        # A short deadline for listing tests, so that the hanging binary costs seconds, not ten.
        subprocess.run(["cmake", "--preset", "student", "-DKATA_DISCOVERY_TIMEOUT=3"], cwd=copy,
                       capture_output=True, check=True)

        cls.list = cls.kata("list")
        cls.stub = cls.kata("test", "10")
        # The solution, tested as a student's finished work: one file recompiled, not a second tree.
        shutil.copy(copy / "solutions/10_twice/twice.cpp", copy / "exercises/10_twice/twice.cpp")
        cls.solution = cls.kata("test", "10")
        cls.bench = cls.kata("bench", "10", "--student", "--repetitions", "1", "--min-time", "0.01")
        cls.graded_files = [f.relative_to(copy).as_posix() for f in course.find("10", copy).stub_files]

        early = copy / "exercises/11_early/early.cpp"
        cls.broken = {}
        for how, code in (("throws", THROWS), ("hangs", HANGS)):
            early.write_text(EARLY_STUB.format(before_main=code))
            built = cls.run_(["cmake", "--build", "build", "--target", "11_early_test"])
            tested_10 = cls.kata("test", "10")
            tested_11 = cls.kata("test", "11") if how == "throws" else None
            cls.broken[how] = (built, tested_10, tested_11)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    @classmethod
    def kata(cls, *args: str) -> subprocess.CompletedProcess:
        return subprocess.run([sys.executable, str(cls.copy / "kata"), *args], cwd=cls.copy, capture_output=True,
                              text=True, env=dict(os.environ, NO_COLOR="1"), timeout=600, check=False)

    @classmethod
    def run_(cls, *commands: list[str]) -> subprocess.CompletedProcess:
        """Runs the commands in order, stopping at the first that fails; returns the last one run."""
        for command in commands:
            done = subprocess.run(command, cwd=cls.copy, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                break
        return done

    def test_the_manifests_pass_verifys_check(self):
        self.assertEqual(self.problems, [])

    def test_it_is_listed(self):
        self.assertEqual(self.list.returncode, 0, self.list.stderr)
        self.assertRegex(self.list.stdout, r"\n10\s+10_twice\s+Twice")

    def test_its_stub_fails_its_tests(self):
        self.assertEqual(self.stub.returncode, 1, self.stub.stdout + self.stub.stderr)
        self.assertIn("0/1 tests pass", self.stub.stdout)
        self.assertIn("not implemented", self.stub.stdout.lower())

    def test_its_solution_passes_its_tests(self):
        self.assertEqual(self.solution.returncode, 0, self.solution.stdout + self.solution.stderr)
        self.assertIn("1/1 tests pass\n\n10 passes!", self.solution.stdout)

    def test_its_benchmark_is_found_and_run(self):
        self.assertEqual(self.bench.returncode, 0, self.bench.stdout + self.bench.stderr)
        self.assertIn("10_twice (no cell of the notebook in bench/cells.json)", self.bench.stdout)
        self.assertIn("BM_twice", self.bench.stdout)

    def test_kata_grade_takes_its_stub_and_its_weight_from_the_manifest(self):
        # `kata grade` itself builds a third tree: too slow for this test's budget. What it takes
        # from the course, it takes from here (grade.py: exercise.stub_files; cli: the weights).
        self.assertEqual(self.graded_files, ["exercises/10_twice/twice.cpp"])
        self.assertEqual(course.find("10", self.copy).weight, 10)

    def test_a_binary_that_throws_before_main_fails_alone(self):
        built, tested_10, tested_11 = self.broken["throws"]
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
        self.assertIn("1/1 tests pass", tested_10.stdout, tested_10.stdout + tested_10.stderr)
        self.assertEqual(tested_11.returncode, 1, tested_11.stdout + tested_11.stderr)
        self.assertIn("TestBinary.ListsItsTests", tested_11.stdout, tested_11.stdout + tested_11.stderr)
        self.assertIn("0/1 tests pass", tested_11.stdout)

    def test_a_binary_that_hangs_before_main_fails_alone(self):
        built, tested_10, _ = self.broken["hangs"]
        self.assertEqual(built.returncode, 0, built.stdout + built.stderr)
        self.assertIn("1/1 tests pass", tested_10.stdout, tested_10.stdout + tested_10.stderr)


if __name__ == "__main__":
    unittest.main()
