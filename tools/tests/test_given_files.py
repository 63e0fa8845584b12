"""Given files (a manifest's "given_files") are the course's, not the student's: reset leaves
them alone, the student copy has them, and they are never named as stubs."""
import pathlib
import subprocess
import tempfile
import unittest

from katalib import course, export, reset

from tests.test_course import write_exercise


class GivenFilesTest(unittest.TestCase):
    def setUp(self):
        self.root = pathlib.Path(self.enterContext(tempfile.TemporaryDirectory(prefix="kata-given-")))
        write_exercise(self.root, "07_x", {"title": "X", "weight": 100, "headers": ["x.hpp"],
                                           "stub_files": ["x.cpp"], "given_files": ["given.cpp"]})
        git = ["git", "-C", str(self.root), "-c", "user.name=t", "-c", "user.email=t@t"]
        subprocess.run([*git, "init", "-q"], check=True)
        subprocess.run([*git, "add", "-A"], check=True)
        subprocess.run([*git, "commit", "-qm", "shipped"], check=True)
        self.exercise = course.find("07", self.root)

    def test_stub_files_are_the_stubs_alone(self):
        self.assertEqual([f.name for f in self.exercise.stub_files], ["x.cpp"])
        self.assertEqual([f.name for f in self.exercise.given_files], ["given.cpp"])

    def test_reset_restores_the_stubs_and_leaves_given_files_alone(self):
        (self.exercise.folder / "x.cpp").write_text("// my work\n")
        (self.exercise.folder / "given.cpp").write_text("// edited, though it is given\n")
        self.assertEqual(reset.changed_files(self.exercise), [self.exercise.folder / "x.cpp"])
        reset.reset(self.exercise)
        self.assertEqual((self.exercise.folder / "x.cpp").read_text(), "// x\n")
        self.assertEqual((self.exercise.folder / "given.cpp").read_text(), "// edited, though it is given\n")

    def test_the_student_copy_has_the_given_files_and_no_solutions(self):
        files = export.student_files(self.root)
        self.assertIn("exercises/07_x/given.cpp", files)
        self.assertIn("exercises/07_x/exercise.json", files)
        self.assertFalse([f for f in files if f.startswith("solutions/")])

    def test_the_repository_has_no_symbolic_link_in_solutions(self):
        links = [p for p in (course.ROOT / "solutions").rglob("*") if p.is_symlink()]
        self.assertEqual(links, [])


if __name__ == "__main__":
    unittest.main()
