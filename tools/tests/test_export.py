"""`kata export-student`: a student copy without solutions that still builds and tests."""
import os
import pathlib
import shutil
import subprocess
import tempfile
import unittest

from katalib import course, export

ROOT = course.ROOT


class ExportStudentTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-export-"))
        cls.copy = cls.scratch / "student"
        cls.files = export.export(cls.copy)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def test_the_copy_has_no_solutions_and_no_instructor_files(self):
        self.assertFalse((self.copy / "solutions").exists())
        self.assertFalse((self.copy / "grading.json").exists())
        self.assertFalse(any(f.startswith("solutions/") for f in self.files))

    def test_the_copy_has_every_exercise_and_the_front_end(self):
        self.assertTrue(os.access(self.copy / "kata", os.X_OK))
        for exercise in course.exercises():
            copied = course.find(exercise.name, self.copy)
            self.assertEqual([f.name for f in copied.stub_files], [f.name for f in exercise.stub_files])
            self.assertEqual(copied.stub_files[0].read_bytes(), exercise.stub_files[0].read_bytes())

    def test_the_copy_is_a_git_repository_so_reset_works(self):
        status = subprocess.run(["git", "-C", str(self.copy), "status", "--porcelain"],
                                capture_output=True, text=True, check=True)
        self.assertEqual(status.stdout, "")

    def test_exporting_into_a_non_empty_folder_is_refused(self):
        with self.assertRaises(FileExistsError):
            export.export(self.copy)

    def test_verify_says_it_needs_the_solutions(self):
        run = subprocess.run([str(self.copy / "kata"), "verify"], capture_output=True, text=True, check=False)
        self.assertEqual(run.returncode, 2)
        self.assertIn("solutions/", run.stderr)

    @unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja"), "needs cmake and ninja")
    def test_kata_test_builds_and_runs_the_stubs_tests(self):
        run = subprocess.run([str(self.copy / "kata"), "test", "01"], capture_output=True, text=True,
                             env=dict(os.environ, NO_COLOR="1"), timeout=900, check=False)
        self.assertEqual(run.returncode, 1, run.stdout + run.stderr)
        self.assertRegex(run.stdout, r"\n0/\d+ tests pass\n")
        self.assertIn("not implemented yet", run.stdout)


if __name__ == "__main__":
    unittest.main()
