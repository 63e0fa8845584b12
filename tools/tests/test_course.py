"""The course model: exercises from CMakeLists.txt, lookup, titles and hints."""
import pathlib
import tempfile
import unittest

from katalib import course


class CourseTest(unittest.TestCase):
    def make_course(self, cmake_text: str) -> pathlib.Path:
        root = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory()))
        (root / "CMakeLists.txt").write_text(cmake_text)
        return root

    def test_exercises_come_from_the_kata_exercise_lines_in_order(self):
        root = self.make_course(
            "project(x)\n# kata_exercise(00_commented) is not one... but a comment line is\n"
            "kata_exercise(01_cpu_count)\n  kata_exercise( 02_pool_map LIBRARIES foo)\n"
        )
        self.assertEqual(course.exercise_names(root), ["01_cpu_count", "02_pool_map"])

    def test_find_accepts_numbers_and_names(self):
        root = self.make_course("kata_exercise(01_cpu_count)\nkata_exercise(02_pool_map)\n")
        for spec in ("2", "02", "02_pool_map", "pool_map", "exercises/02_pool_map/"):
            self.assertEqual(course.find(spec, root).name, "02_pool_map", spec)
        with self.assertRaisesRegex(course.UnknownExercise, "01_cpu_count, 02_pool_map"):
            course.find("7", root)

    def test_title_drops_the_number(self):
        root = self.make_course("kata_exercise(01_cpu_count)\n")
        readme = root / "exercises/01_cpu_count/README.md"
        readme.parent.mkdir(parents=True)
        readme.write_text("# 01 · How many CPUs?\n\ntext\n")
        self.assertEqual(course.find("01", root).title, "How many CPUs?")

    def test_hints_are_the_numbered_items_of_the_hints_section(self):
        text = (
            "# 01 · X\n\n1. not a hint\n\n## Hints\n\n1. First, gentle.\n"
            "2. Second, on\n   two lines.\n\n   Still the second.\n3. Third.\n\n## After\n\n4. not a hint\n"
        )
        self.assertEqual(
            course.parse_hints(text),
            ["First, gentle.", "Second, on two lines. Still the second.", "Third."],
        )

    def test_every_exercise_in_the_repository_has_its_files_and_hints(self):
        for exercise in course.exercises():
            with self.subTest(exercise.name):
                self.assertTrue(exercise.readme.is_file())
                self.assertTrue(exercise.stub_files, "no stub .cpp files")
                self.assertEqual(
                    [f.name for f in exercise.stub_files], [f.name for f in exercise.solution_files]
                )
                self.assertTrue(exercise.test_file.is_file())
                self.assertGreaterEqual(len(exercise.hints()), 3)


if __name__ == "__main__":
    unittest.main()
