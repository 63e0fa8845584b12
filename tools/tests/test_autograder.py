"""`kata autograder gradescope`: its zip, and run_autograder against a fake /autograder tree."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import unittest
import zipfile

from katalib import autograder, classroom, course, export

from .schema import validate

ROOT = course.ROOT
SCHEMA = json.loads((pathlib.Path(__file__).parent / "data/gradescope_results.schema.json").read_text())
ONLINE = "  return static_cast<unsigned>(count);\n}\n\nunsigned affinity_cpus"


class ZipTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-autograder-zip-"))
        run = subprocess.run([sys.executable, str(ROOT / "kata"), "autograder", "gradescope", "--out",
                              str(cls.scratch)], capture_output=True, text=True, check=False)
        cls.run_ = run
        cls.zip = zipfile.ZipFile(cls.scratch / autograder.ZIP_NAME)
        cls.names = cls.zip.namelist()

    @classmethod
    def tearDownClass(cls):
        cls.zip.close()
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def test_the_command_says_what_it_wrote(self):
        self.assertEqual(self.run_.returncode, 0, self.run_.stderr)
        self.assertIn("kata-gradescope.zip", self.run_.stdout)

    def test_the_two_scripts_are_at_the_root_and_executable(self):
        for name in ("setup.sh", "run_autograder"):
            self.assertIn(name, self.names)
            self.assertEqual((self.zip.getinfo(name).external_attr >> 16) & 0o111, 0o111, name)
            script = self.zip.read(name).decode()
            self.assertTrue(script.startswith("#!/usr/bin/env bash\n"))
            check = subprocess.run(["bash", "-n"], input=script, capture_output=True, text=True, check=False)
            self.assertEqual(check.returncode, 0, check.stderr)

    def test_setup_installs_the_courses_packages(self):
        setup = self.zip.read("setup.sh").decode()
        line = next(l for l in setup.splitlines() if "apt-get install" in l)
        self.assertEqual(set(line.split()[5:]), set(autograder.packages()))

    def test_the_course_is_there_without_solutions_or_its_own_tests(self):
        self.assertIn("course/kata", self.names)
        self.assertIn("course/grading.json", self.names)
        self.assertIn("course/tests/01_cpu_count_test.cpp", self.names)
        self.assertFalse([n for n in self.names if n.startswith(("course/solutions/", "course/tools/tests/"))])

    def test_every_path_can_be_overridden(self):
        for name in ("setup.sh", "run_autograder"):
            code = [l for l in self.zip.read(name).decode().splitlines() if not l.lstrip().startswith("#")]
            uses = [l for l in code if "/autograder" in l]
            self.assertTrue(uses)
            for line in uses:  # a default, named once: AUTOGRADER=${KATA_AUTOGRADER_ROOT:-/autograder}
                self.assertRegex(line, r"^[A-Z]+=\$\{KATA_AUTOGRADER_[A-Z]+:-/autograder\}$")
            for line in code:
                if re.match(r"^[A-Z]+=", line):
                    self.assertRegex(line, r"^[A-Z]+=\$\{KATA_AUTOGRADER_[A-Z]+:-")

    def test_an_unwritable_folder_is_one_line(self):
        run = subprocess.run([sys.executable, str(ROOT / "kata"), "autograder", "gradescope", "--out",
                              str(self.scratch / autograder.ZIP_NAME / "inside")], capture_output=True, text=True,
                             check=False)
        self.assertEqual(run.returncode, 2)
        self.assertEqual(len(run.stderr.splitlines()), 1, run.stderr)

    def test_help(self):
        run = subprocess.run([sys.executable, str(ROOT / "kata"), "autograder", "gradescope", "--help"],
                             capture_output=True, text=True, check=False)
        self.assertEqual(run.returncode, 0)
        self.assertIn("--out", run.stdout)


@unittest.skipUnless(shutil.which("cmake") and shutil.which("ninja"), "needs cmake and ninja")
class RunAutograderTest(unittest.TestCase):
    """A student's repository with exercise 01 half broken (one function off by one, printing colours),
    graded by run_autograder exactly as Gradescope would run it, in a fake /autograder."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-autograder-"))
        os.chmod(cls.scratch, 0o755)
        root = cls.scratch / "autograder"
        zip_path = autograder.build_zip(cls.scratch)
        autograder.extract(zip_path, root / "source")
        exercise = root / "submission/exercises/01_cpu_count"
        exercise.mkdir(parents=True)
        source = (ROOT / "solutions/01_cpu_count/cpu_count.cpp").read_text()
        assert ONLINE in source
        source = "#include <cstdio>\n" + source.replace(
            ONLINE, '  std::fputs("\\x1b[1;31mcolourful\\x1b[0m\\n", stderr);\n'
            "  return static_cast<unsigned>(count) + 1;\n}\n\nunsigned affinity_cpus")
        (exercise / "cpu_count.cpp").write_text(source)
        # A stub that is a symbolic link: one line in the report, and the shipped stub graded instead.
        (exercise / "cgroup_quota.cpp").symlink_to(ROOT / "solutions/01_cpu_count/cgroup_quota.cpp")
        env = dict(os.environ, KATA_AUTOGRADER_ROOT=str(root), KATA_AUTOGRADER_ARGS="--exercises 01",
                   NO_COLOR="1")
        cls.run_ = subprocess.run([str(root / "source/run_autograder")], capture_output=True, text=True,
                                  env=env, timeout=1200, check=False)
        cls.text = (root / "results/results.json").read_text()
        cls.results = json.loads(cls.text)

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def test_it_writes_results_that_gradescope_reads(self):
        self.assertEqual(self.run_.returncode, 0, self.run_.stderr)
        validate(self.results, SCHEMA)
        self.assertIn("# Grading report", self.run_.stdout)

    def test_every_test_is_an_entry_and_failing_ones_say_why(self):
        tests = {t["name"]: t for t in self.results["tests"]}
        online = tests["01_cpu_count/CpuCountTest.OnlineCpusIsWhatSysconfSays"]
        self.assertEqual(online["status"], "failed")
        self.assertEqual(online["score"], 0)
        self.assertRegex(online["number"], r"^01\.\d+$")
        self.assertIn("online_cpus()", online["output"])
        affinity = tests["01_cpu_count/CpuCountTest.AffinityCpusCountsTheMask"]
        self.assertEqual(affinity["status"], "passed")
        self.assertGreater(affinity["score"], 0)
        self.assertAlmostEqual(sum(t["max_score"] for t in self.results["tests"]), 10, places=2)
        self.assertAlmostEqual(self.results["score"], sum(t["score"] for t in self.results["tests"]), places=1)

    def test_a_symlinked_stub_is_one_line_and_the_rest_is_graded(self):
        problems = [t for t in self.results["tests"] if t["name"] == "submission"]
        self.assertEqual(len(problems), 1)
        self.assertIn("cgroup_quota.cpp is a symbolic link", problems[0]["output"])
        self.assertGreater(self.results["score"], 0)

    def test_nothing_carries_an_escape_or_a_grader_path(self):
        for text in (self.text, self.run_.stdout):
            self.assertNotIn("\\u001b", text)
            self.assertNotIn("\x1b", text)
            self.assertNotIn("kata-grade-", text)
            self.assertNotIn(str(self.scratch), text.replace(str(self.scratch / "autograder/submission"), ""))


class ClassroomTest(unittest.TestCase):
    """kata export-student writes GitHub Classroom's autograding into the student copy."""

    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-classroom-"))
        cls.files = export.export(cls.scratch / "student")
        cls.copy = cls.scratch / "student"

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def test_one_test_per_exercise_with_its_points_running_kata_test(self):
        config = json.loads((self.copy / ".github/classroom/autograding.json").read_text())
        exercises = course.exercises()
        self.assertEqual([t["run"] for t in config["tests"]], [f"./kata test {e.number}" for e in exercises])
        self.assertEqual([t["points"] for t in config["tests"]], [e.weight for e in exercises])
        for test in config["tests"]:
            self.assertEqual(set(test), {"name", "setup", "run", "input", "output", "comparison", "timeout",
                                         "points"})
            self.assertLessEqual(test["timeout"], 60)  # minutes: Classroom's limit

    def test_pushes_run_the_autograding_after_installing_the_packages(self):
        workflow = (self.copy / ".github/workflows/classroom.yml").read_text()
        self.assertRegex(workflow, r"(?m)^on:\n  push:")
        self.assertIn("uses: education/autograding@v1", workflow)
        for package in classroom.prereqs.PACKAGES:
            self.assertIn(package, workflow)
        self.assertNotIn("\t", workflow)  # YAML forbids tabs for indentation

    def test_the_files_are_committed(self):
        self.assertIn(classroom.AUTOGRADING, self.files)
        status = subprocess.run(["git", "-C", str(self.copy), "status", "--porcelain"],
                                capture_output=True, text=True, check=True)
        self.assertEqual(status.stdout, "")


if __name__ == "__main__":
    unittest.main()


class DockerfileTest(unittest.TestCase):
    """No Docker daemon in CI (nor hadolint in Debian 12): the Dockerfile is read here instead."""

    @classmethod
    def setUpClass(cls):
        text = (ROOT / "Dockerfile").read_text()
        cls.instructions = [(line.split(None, 1) + [""])[:2] for line in
                            re.sub(r"\\\n", " ", text).splitlines() if line.strip() and not line.startswith("#")]

    def test_it_is_debian_12(self):
        self.assertEqual(self.instructions[0], ["FROM", "debian:12"])

    def test_it_installs_exactly_the_packages_the_course_and_grader_need(self):
        installs = [args for op, args in self.instructions if op == "RUN" and "apt-get install" in args]
        self.assertEqual(len(installs), 1)
        words = installs[0].split("apt-get install", 1)[1].split("&&")[0].split()
        self.assertEqual({w for w in words if not w.startswith("-")}, {*autograder.packages(), "tini"})

    def test_kata_is_on_the_path_and_solutions_are_root_only(self):
        run = " ".join(args for op, args in self.instructions if op == "RUN")
        self.assertIn("ln -s /kata/kata /usr/local/bin/kata", run)
        self.assertIn("chmod -R go-rwx /kata/solutions", run)
        self.assertIn(["COPY", ". /kata"], self.instructions)
        self.assertIn(["ENTRYPOINT", '["/usr/bin/tini", "--"]'], self.instructions)  # reaps orphans
        self.assertTrue({op for op, _ in self.instructions} <= {"FROM", "RUN", "COPY", "WORKDIR", "CMD", "ENTRYPOINT"})


class BadInputTest(unittest.TestCase):
    """kata grade on input it cannot use: one clear line, never a traceback."""

    def kata(self, *args):
        return subprocess.run([sys.executable, str(ROOT / "kata"), *args], capture_output=True, text=True,
                              env=dict(os.environ, NO_COLOR="1"), timeout=300, check=False)

    def test_a_broken_grading_json(self):
        with tempfile.TemporaryDirectory() as folder:
            config = pathlib.Path(folder) / "grading.json"
            config.write_text("{not json")
            run = self.kata("grade", folder, "--exercises", "01", "--config", str(config))
        self.assertEqual(run.returncode, 2)
        self.assertNotIn("Traceback", run.stderr)
        self.assertIn("cannot use it as grading.json", run.stderr)

    def test_a_submission_that_is_not_there(self):
        with tempfile.TemporaryDirectory() as folder:
            results = pathlib.Path(folder) / "results.json"
            run = self.kata("grade", f"{folder}/nobody", "--exercises", "01", "--json", str(results))
            data = json.loads(results.read_text())
        self.assertEqual(run.returncode, 0, run.stderr)
        self.assertNotIn("Traceback", run.stdout + run.stderr)
        validate(data, SCHEMA)
        self.assertEqual(data["score"], 0)
        self.assertEqual(data["tests"][0]["output"], "nobody is not a folder (or does not exist): nothing graded")


class SubmissionPatternTest(unittest.TestCase):
    def test_a_pattern_no_shell_expanded_is_expanded_by_kata_grade(self):
        from katalib import cli

        with tempfile.TemporaryDirectory() as folder:
            for name in ("bob", "alice"):
                (pathlib.Path(folder) / name).mkdir()
            self.assertEqual(cli._submission_paths([f"{folder}/*"]), [f"{folder}/alice", f"{folder}/bob"])
            self.assertEqual(cli._submission_paths([f"{folder}/carol"]), [f"{folder}/carol"])
