"""The course model: exercises from their manifests, lookup, titles, hints, and the manifest check."""
import json
import pathlib
import re
import tempfile
import unittest

from katalib import course


def write_exercise(root: pathlib.Path, name: str, manifest: dict | None = None, solution: bool = True) -> None:
    """exercises/NAME/ with a manifest, a header and a stub; its test, benchmark and solution."""
    folder = root / "exercises" / name
    folder.mkdir(parents=True)
    manifest = manifest or {"title": name, "weight": 100, "headers": ["x.hpp"], "stub_files": ["x.cpp"]}
    (folder / "exercise.json").write_text(json.dumps(manifest))
    for file in [*manifest.get("headers", []), *manifest.get("stub_files", []), *manifest.get("given_files", [])]:
        (folder / file).write_text("// x\n")
    for file in (root / "tests" / f"{name}_test.cpp", root / "bench" / f"{name}_bench.cpp"):
        file.parent.mkdir(exist_ok=True)
        file.write_text("// x\n")
    if solution:
        (root / "solutions" / name).mkdir(parents=True)
        for file in manifest.get("stub_files", []):
            (root / "solutions" / name / file).write_text("// x\n")


class CourseTest(unittest.TestCase):
    def make_course(self, *names: str) -> pathlib.Path:
        root = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        for name in names:
            write_exercise(root, name)
        return root

    def test_the_course_is_every_manifest_in_name_order(self):
        root = self.make_course("02_pool_map", "01_cpu_count")
        (root / "exercises/notes").mkdir()
        self.assertEqual(course.exercise_names(root), ["01_cpu_count", "02_pool_map"])

    def test_find_accepts_numbers_and_names(self):
        root = self.make_course("01_cpu_count", "02_pool_map")
        for spec in ("2", "02", "02_pool_map", "pool_map", "exercises/02_pool_map/"):
            self.assertEqual(course.find(spec, root).name, "02_pool_map", spec)
        with self.assertRaisesRegex(course.UnknownExercise, "01_cpu_count, 02_pool_map"):
            course.find("7", root)

    def test_files_title_and_weight_come_from_the_manifest(self):
        root = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        write_exercise(root, "07_x", {"title": "Start methods", "weight": 100, "headers": ["x.hpp"],
                                      "stub_files": ["b.cpp", "a.cpp"], "given_files": ["given.cpp"]})
        exercise = course.find("07", root)
        self.assertEqual(exercise.title, "Start methods")
        self.assertEqual(exercise.weight, 100)
        self.assertEqual([f.name for f in exercise.stub_files], ["b.cpp", "a.cpp"])
        self.assertEqual([f.name for f in exercise.given_files], ["given.cpp"])
        self.assertEqual([f.name for f in exercise.headers], ["x.hpp"])
        self.assertEqual(exercise.solution_files, [root / "solutions/07_x/b.cpp", root / "solutions/07_x/a.cpp"])
        self.assertEqual(course.check(root), [])

    def test_hints_are_the_numbered_items_of_the_hints_section(self):
        text = (
            "# 01 · X\n\n1. not a hint\n\n## Hints\n\n1. First, gentle.\n"
            "2. Second, on\n   two lines.\n\n   Still the second.\n3. Third.\n\n## After\n\n4. not a hint\n"
        )
        self.assertEqual(
            course.parse_hints(text),
            ["First, gentle.", "Second, on two lines. Still the second.", "Third."],
        )


class CheckTest(unittest.TestCase):
    """`kata verify` starts with course.check(): one line per problem, before anything is built."""

    def setUp(self):
        self.root = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        write_exercise(self.root, "01_a", {"title": "A", "weight": 60, "headers": ["a.hpp"], "stub_files": ["a.cpp"]})
        write_exercise(self.root, "02_b", {"title": "B", "weight": 40, "headers": ["b.hpp"], "stub_files": ["b.cpp"],
                                           "given_files": ["given.cpp"]})

    def edit(self, name: str, **changes) -> None:
        path = self.root / "exercises" / name / "exercise.json"
        manifest = json.loads(path.read_text())
        manifest.update(changes)
        path.write_text(json.dumps(manifest))

    def assertProblem(self, pattern: str) -> None:  # noqa: N802 (unittest's style)
        problems = course.check(self.root)
        self.assertTrue(any(re.search(pattern, p) for p in problems), problems)

    def test_a_sound_course_has_no_problem(self):
        self.assertEqual(course.check(self.root), [])

    def test_the_weights_must_sum_to_100(self):
        self.edit("02_b", weight=50)
        self.assertEqual(course.check(self.root), ["the weights sum to 110, not 100 (01_a 60, 02_b 50)"])

    def test_every_named_file_must_exist(self):
        (self.root / "exercises/02_b/given.cpp").unlink()
        self.assertProblem(r"exercises/02_b/exercise.json names given.cpp in \"given_files\", but .* does not exist")
        (self.root / "solutions/01_a/a.cpp").unlink()
        self.assertProblem(r"the stub a.cpp has no reference version solutions/01_a/a.cpp")

    def test_every_cpp_file_must_be_named(self):
        (self.root / "exercises/01_a/stray.cpp").write_text("")
        (self.root / "solutions/02_b/given.cpp").write_text("")
        self.assertProblem(r"^exercises/01_a/stray.cpp is neither a stub nor a given file")
        self.assertProblem(r"^solutions/02_b/given.cpp is not a stub named in")

    def test_a_solution_is_its_stubs_alone(self):
        (self.root / "solutions/01_a/helpers.hpp").write_text("")
        self.assertProblem(r"^solutions/01_a/helpers.hpp is not a stub's reference version")

    def test_a_solution_may_not_be_a_symbolic_link(self):
        (self.root / "solutions/01_a/a.cpp").unlink()
        (self.root / "solutions/01_a/a.cpp").symlink_to("../../exercises/01_a/a.cpp")
        self.assertProblem(r"solutions/01_a/a.cpp is a symbolic link")

    def test_a_folder_without_a_manifest_is_reported(self):
        (self.root / "exercises/03_c").mkdir()
        self.assertProblem(r"^exercises/03_c/ has no exercise.json")

    def test_bad_keys_types_and_json_are_reported(self):
        self.edit("01_a", weight="60", colour="red")
        self.assertProblem(r"\"weight\" has the wrong type")
        self.assertProblem(r"unknown key \"colour\"")
        (self.root / "exercises/02_b/exercise.json").write_text("{ not json")
        self.assertProblem(r"^exercises/02_b/exercise.json: not valid JSON")

    def test_the_tests_and_benchmark_must_exist(self):
        (self.root / "bench/01_a_bench.cpp").unlink()
        self.assertProblem(r"bench/01_a_bench.cpp is missing")


class RepositoryTest(unittest.TestCase):
    def test_the_repository_passes_the_check(self):
        self.assertEqual(course.check(), [])

    def test_every_exercise_has_its_readme_titled_as_its_manifest_and_hints(self):
        for exercise in course.exercises():
            with self.subTest(exercise.name):
                first = exercise.readme.read_text(encoding="utf-8").splitlines()[0]
                self.assertEqual(first, f"# {exercise.number} · {exercise.title}")
                self.assertGreaterEqual(len(exercise.hints()), 3)

    def test_the_readme_course_table_lists_the_course(self):
        """README.md's table of exercises: one row per manifest, in order, each linking its README."""
        readme = (course.ROOT / "README.md").read_text(encoding="utf-8")
        rows = re.findall(r"^\| (\d\d) \| \[(\w+)\]\((exercises/[^)]+)\) \|", readme, flags=re.M)
        expected = [(e.number, e.name[3:], f"exercises/{e.name}/README.md") for e in course.exercises()]
        self.assertEqual(rows, expected, "README.md's course table does not match exercises/*/exercise.json")


if __name__ == "__main__":
    unittest.main()
