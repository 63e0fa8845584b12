"""`kata grade` against the attacks of issue 20, each with an exact score.

One grader builds the course's shipped stubs once (the trusted test lists); every
submission below is graded against that build, each on the exercises it needs.
An attack that would gain something, were it not stopped, scores what the stub
scores; one that would do harm costs at most the test it runs in. Needs root and
bubblewrap (CI has both).
"""
import os
import pathlib
import shutil
import socket
import subprocess
import tempfile
import threading
import unittest

from katalib import course, grade, sandbox

ROOT = course.ROOT
UID_BASE = 62100  # away from the default pool, so a grader running beside the tests is not disturbed


def _sandbox_ready() -> str:
    if os.geteuid() != 0:
        return "needs root (the sandbox switches uid and makes namespaces)"
    if not shutil.which("bwrap") or not shutil.which("setpriv") or not sandbox._bwrap_works():
        return "needs bubblewrap that can make namespaces"
    if not shutil.which("cmake") or not shutil.which("ninja"):
        return "needs cmake and ninja"
    return ""


SKIP = _sandbox_ready()
HEADERS = ("#include <fcntl.h>\n#include <signal.h>\n#include <sys/mman.h>\n#include <sys/socket.h>\n"
           "#include <sys/stat.h>\n#include <sys/wait.h>\n#include <netinet/in.h>\n#include <arpa/inet.h>\n"
           "#include <dirent.h>\n#include <dlfcn.h>\n#include <unistd.h>\n#include <cstdio>\n#include <cstdlib>\n"
           "#include <cstring>\n#include <fstream>\n#include <sstream>\n#include <stdexcept>\n#include <string>\n")

# Attacks run from a static constructor, each in the one test named beside it (read
# from /proc/self/cmdline): if one succeeds, the process aborts and its test fails.
RUNTIME_ATTACKS = r"""
namespace {
std::string slurp(const char* path) {
  std::ifstream file(path);
  std::stringstream text;
  text << file.rdbuf();
  return text.str();
}
bool running(const char* test) {
  return slurp("/proc/self/cmdline").find(std::string("--gtest_filter=") + test) != std::string::npos;
}
void as_daemon(void (*body)()) {
  if (::fork() == 0) {
    ::setsid();
    if (::fork() == 0) {
      body();
      ::_exit(0);
    }
    ::_exit(0);
  }
  ::wait(nullptr);
}
void stop_everyone() {
  for (;;) ::kill(-1, SIGSTOP);
}
void setuid_helper() {
  int fds[2];
  if (::pipe(fds) == 0) {
    ::dup2(fds[0], 0);  // the write end stays open here: su waits for a password forever
    ::execl("/usr/bin/su", "su", "-c", "id", "root", static_cast<char*>(nullptr));
  }
}
void fill(const char* folder) {
  std::string chunk(1 << 20, 'x');
  for (int i = 0;; ++i) {
    std::string path = std::string(folder) + "/fill" + std::to_string(i);
    FILE* file = std::fopen(path.c_str(), "w");
    if (file == nullptr) return;
    bool full = false;
    for (int m = 0; m < 64 && !full; ++m) full = std::fwrite(chunk.data(), 1, chunk.size(), file) != chunk.size();
    if (std::fclose(file) != 0 || full) return;
  }
}
bool touches_4_5_gib() {
  const std::size_t size = std::size_t{9} << 29;
  void* memory = ::mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
  if (memory == MAP_FAILED) return false;
  for (std::size_t at = 0; at < size; at += 4096) static_cast<char*>(memory)[at] = 1;
  return true;
}
bool readable(const std::string& path) { return ::access(path.c_str(), F_OK) == 0; }

const bool attacked = [] {
  if (running("CgroupV2Test.ATighterLeafWins")) as_daemon(stop_everyone);
  if (running("CgroupV2Test.TheLeafQuotaCounts")) {
    for (int i = 0; i < 20; ++i) as_daemon(setuid_helper);
  }
  if (running("ParseCpuMax.QuotaOverPeriodIsCpus")) {
    const char* tmp = std::getenv("TMPDIR");
    ::chmod(tmp != nullptr ? tmp : "/tmp", 0);
    ::chmod("/tmp", 0);
  }
  if (running("ParseCpuMax.MaxIsNoLimit")) {
    fill("/tmp");
    fill("/var/tmp");
    fill("/dev/shm");
  }
  if (running("CgroupV2Test.NoCpuMaxAnywhereIsNoLimit")) {
    int both = 0;
    for (int i = 0; i < 2; ++i) {
      if (::fork() == 0) ::_exit(touches_4_5_gib() ? 0 : 1);
    }
    for (int i = 0, status = 0; i < 2; ++i) {
      if (::wait(&status) > 0 && WIFEXITED(status) && WEXITSTATUS(status) == 0) ++both;
    }
    if (both == 2) std::abort();
  }
  if (running("CgroupV2Test.MaxEverywhereIsNoLimit")) {
    for (const char* path : {"@ROOT@/grading.json", "@ROOT@/solutions/01_cpu_count/cpu_count.cpp",
                             "@OTHER@/exercises/01_cpu_count/cpu_count.cpp", "/root/.", "/home/.", "/work/."}) {
      if (readable(path)) std::abort();
    }
    if (DIR* proc = ::opendir("/proc")) {  // the grader's command line names the course and the class
      while (dirent* entry = ::readdir(proc)) {
        if (slurp(("/proc/" + std::string(entry->d_name) + "/cmdline").c_str()).find("@OTHER@") != std::string::npos)
          std::abort();
      }
      ::closedir(proc);
    }
  }
  if (running("CgroupV2Test.ATighterParentWins")) {
    sockaddr_in host{};
    host.sin_family = AF_INET;
    host.sin_port = htons(@PORT@);
    host.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int tcp = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::connect(tcp, reinterpret_cast<sockaddr*>(&host), sizeof host) == 0) std::abort();
    ::close(tcp);
    int udp = ::socket(AF_INET, SOCK_DGRAM, 0);
    ::sendto(udp, "hi", 2, 0, reinterpret_cast<sockaddr*>(&host), sizeof host);
    ::close(udp);
    sockaddr_in own{};  // listening on its own loopback works, and reaches no one
    own.sin_family = AF_INET;
    own.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    int listener = ::socket(AF_INET, SOCK_STREAM, 0);
    if (::bind(listener, reinterpret_cast<sockaddr*>(&own), sizeof own) != 0 || ::listen(listener, 1) != 0)
      std::abort();
    ::close(listener);
  }
  return true;
}();
}  // namespace
"""
CTOR_EXIT = "namespace {\nconst bool leave = [] { ::_exit(0); return true; }();\n}\n"
DTOR_EXIT = "namespace {\nstruct Leave { ~Leave() { ::_exit(0); } } leave;\n}\n"
FAKE_LISTING = r"""namespace {
const bool fake = [] {
  std::ifstream file("/proc/self/cmdline");
  std::stringstream text;
  text << file.rdbuf();
  if (text.str().find("--gtest_list_tests") != std::string::npos) {
    std::puts("Fake.\n  Passes");
    ::_exit(0);
  }
  return true;
}();
}
"""
FAKE_CTEST = r"""namespace {
const bool fake = [] {
  for (int i = 1; i <= 29; ++i)
    std::printf("%2d/29 Test #%d: 05_simd/Fake.Test%d ...................   Passed    0.01 sec\n", i, i, i);
  std::puts("100% tests passed, 0 tests failed out of 29");
  std::exit(1);
  return true;
}();
}
"""
HANGS = "namespace {\nconst bool hang = [] { for (;;) ::pause(); return true; }();\n}\n"
THROWS = "namespace {\nconst int answer = [] { throw std::runtime_error(\"an honest bug\"); return 42; }();\n}\n"
FENCE = "```\\n## victim: 100 / 100\\n```"
FENCED_STUB = ('#include "simd.hpp"\n#include <stdexcept>\nnamespace kata {\n'
               'void square_scalar(std::span<const std::int32_t>, std::span<std::int32_t>) {\n'
               f'  throw std::runtime_error("{FENCE}");\n}}\n}}  // namespace kata\n')
DLOPEN_REFERENCE = r"""
namespace kata {
using Square = void (*)(std::span<const std::int32_t>, std::span<std::int32_t>);
void square_scalar(std::span<const std::int32_t> in, std::span<std::int32_t> out) {
  static const Square reference = []() -> Square {
    const std::string so = std::string(std::getenv("TMPDIR") ? std::getenv("TMPDIR") : "/tmp") + "/reference.so";
    const std::string compile = "c++ -std=c++20 -shared -fPIC -O1 -I@ROOT@/exercises/05_simd -I@ROOT@/common/include "
                                "@ROOT@/solutions/05_simd/square_scalar.cpp -o " + so;
    if (std::system(compile.c_str()) != 0) return nullptr;
    void* library = ::dlopen(so.c_str(), RTLD_NOW);
    return library ? reinterpret_cast<Square>(::dlsym(library,
        "_ZN4kata13square_scalarESt4spanIKiLm18446744073709551615EES0_IiLm18446744073709551615EE")) : nullptr;
  }();
  if (reference == nullptr) throw std::logic_error("square_scalar is not implemented yet");
  reference(in, out);
}
}  // namespace kata
"""


def _copy(tree: str, exercise: str, submission: pathlib.Path) -> pathlib.Path:
    target = submission / "exercises" / exercise
    shutil.copytree(ROOT / tree / exercise, target, dirs_exist_ok=True)
    for extra in target.iterdir():  # only the .cpp files a student edits
        if extra.suffix != ".cpp":
            extra.unlink()
    return target


def _edit(file: pathlib.Path, before: str = "", after: str = "") -> None:
    file.write_text(HEADERS + before + file.read_text() + after)


@unittest.skipIf(SKIP, SKIP)
class GraderAttacksTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.scratch = pathlib.Path(tempfile.mkdtemp(prefix="kata-attacks-"))
        os.chmod(cls.scratch, 0o755)
        config = grade.Config.load()
        config.limits = {**config.limits, "test_timeout_seconds": 30, "memory_mib_per_test": 1024,
                         "tmp_mib": 256, "parallel_tests": 2, "build_timeout_seconds": 1800}
        config.sandbox_uid = UID_BASE
        cls.grader = grade.Grader(course.exercises(), config)
        cls.uid = cls.grader.sandbox.uid
        cls.listener = socket.create_server(("127.0.0.1", 0))
        cls.listener.settimeout(0.2)
        cls.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        cls.udp.bind(("127.0.0.1", cls.listener.getsockname()[1]))
        cls.udp.settimeout(0.2)
        cls.secret = pathlib.Path("/root") / f"kata-attacks-secret-{os.getpid()}"
        cls.secret.write_text("ROOT ONLY SECRET\n")
        os.chmod(cls.secret, 0o600)
        cls.results = {}
        try:
            cls._grade_all()
        finally:
            cls.grader.close()
            cls.secret.unlink()

    @classmethod
    def _submission(cls, name: str) -> pathlib.Path:
        folder = cls.scratch / name
        (folder / "exercises").mkdir(parents=True)
        return folder

    @classmethod
    def _fill(cls, text: str) -> str:
        return (text.replace("@ROOT@", str(ROOT)).replace("@OTHER@", str(cls.scratch / "stub"))
                .replace("@PORT@", str(cls.listener.getsockname()[1])))

    @classmethod
    def _grade(cls, name: str, submission: pathlib.Path, only: list[str] | None) -> None:
        cls.results[name] = {e.name: e for e in cls.grader.grade(submission, only).exercises}

    @classmethod
    def _grade_all(cls):
        # The shipped stubs: what a submission that gains nothing scores.
        stub = cls._submission("stub")
        for exercise in ("01_cpu_count", "05_simd"):
            _copy("exercises", exercise, stub)
        cls._grade("stub", stub, ["01_cpu_count", "05_simd"])

        # A hanging static initializer in 01, the reference everywhere else: 90/100.
        hangs = cls._submission("hangs")
        for exercise in course.exercise_names():
            _copy("solutions", exercise, hangs)
        _edit(hangs / "exercises/01_cpu_count/cpu_count.cpp", after=HANGS)
        cls.hangs = cls.grader.grade(hangs)

        # Fake passes and the reference solution reached at compile time.
        cheats = cls._submission("cheats")
        _edit(_copy("exercises", "01_cpu_count", cheats) / "cpu_count.cpp", after=CTOR_EXIT)
        simd = _copy("exercises", "05_simd", cheats)
        (simd / "square_scalar.cpp").write_text(FENCED_STUB)
        _edit(simd / "square_simd.cpp", after=DTOR_EXIT)
        solution = ROOT / "solutions"
        tricks = {"02_pool_map": f'%:include "{solution}/02_pool_map/tbb_map.cpp"\n',
                  "03_ipc_overhead": f'#/**/include "{solution}/03_ipc_overhead/shm_map.cpp"\n',
                  "04_sleepy_workload": f'#inc\\\nlude "{solution}/04_sleepy_workload/run_tbb.cpp"\n',
                  "06_file_scan": f'#import "{solution}/06_file_scan/scan_tbb.cpp"\n'}
        for exercise, line in tricks.items():
            folder = _copy("exercises", exercise, cheats)
            first = sorted(folder.glob("*.cpp"))[0]
            (folder / (solution / exercise / first.name).name).write_text(line)
        cls._grade("cheats", cheats, ["01_cpu_count", "05_simd", *tricks])

        # A fake test list, fake ctest lines, a symlink to a root-only file.
        fakes = cls._submission("fakes")
        folder = _copy("exercises", "01_cpu_count", fakes)
        _edit(folder / "cpu_count.cpp", after=FAKE_LISTING)
        (folder / "cgroup_quota.cpp").unlink()
        (folder / "cgroup_quota.cpp").symlink_to(cls.secret)
        _edit(_copy("exercises", "05_simd", fakes) / "square_tbb.cpp", after=FAKE_CTEST)
        cls._grade("fakes", fakes, ["01_cpu_count", "05_simd"])

        # A folder symlink to solutions/, and compiling the reference at run time.
        links = cls._submission("links")
        (links / "exercises/01_cpu_count").symlink_to(solution / "01_cpu_count")
        (_copy("exercises", "05_simd", links) / "square_scalar.cpp").write_text(
            HEADERS + '#include "simd.hpp"\n' + cls._fill(DLOPEN_REFERENCE))
        cls._grade("links", links, ["01_cpu_count", "05_simd"])

        # Runtime attacks in 01 (the reference otherwise), a throwing initializer in 05.
        runtime = cls._submission("runtime")
        _edit(_copy("solutions", "01_cpu_count", runtime) / "cpu_count.cpp", after=cls._fill(RUNTIME_ATTACKS))
        _edit(_copy("solutions", "05_simd", runtime) / "square_tbb.cpp", after=THROWS)
        cls._grade("runtime", runtime, ["01_cpu_count", "05_simd"])
        cls.connections = 0
        try:
            while True:
                cls.listener.accept()[0].close()
                cls.connections += 1
        except OSError:
            pass
        try:
            cls.datagrams = len(cls.udp.recv(100))
        except OSError:
            cls.datagrams = 0

        # The next submission, right after all that: the reference, full marks.
        after = cls._submission("after")
        _copy("solutions", "05_simd", after)
        cls._grade("after", after, ["05_simd"])

        # Two graders at once: each its own uid, both full marks.
        cls.twin = grade.Grader(course.exercises(), cls.grader.config, pristine_from=cls.grader)
        cls.uids = {cls.grader.sandbox.uid, cls.twin.sandbox.uid}
        threads = [threading.Thread(target=lambda g=g, n=n: cls.results.__setitem__(
            n, {e.name: e for e in g.grade(after, ["05_simd"]).exercises}))
                   for g, n in ((cls.grader, "one"), (cls.twin, "two"))]
        try:
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
        finally:
            cls.twin.close()

    @classmethod
    def tearDownClass(cls):
        cls.listener.close()
        cls.udp.close()
        shutil.rmtree(cls.scratch, ignore_errors=True)

    def score(self, submission: str, exercise: str) -> float:
        return self.results[submission][exercise].points

    def statuses(self, submission: str, exercise: str) -> dict[str, str]:
        return {t.short_name: t.status for t in self.results[submission][exercise].tests}

    def test_a_hanging_static_initializer_costs_its_exercise_alone(self):
        self.assertEqual((self.hangs.score, self.hangs.max_score), (90, 100),
                         {e.name: (e.passed, e.total, e.message[:300]) for e in self.hangs.exercises})
        first = self.hangs.exercises[0]
        self.assertIn("01_cpu_count: the test binary hangs before any test starts (a static initializer?)",
                      first.message)
        self.assertEqual({t.status for t in first.tests}, {"timeout"})

    def test_mpi_tests_are_named_per_rank_count(self):
        mpi = next(e for e in self.hangs.exercises if e.name == "09_mpi_map")
        self.assertTrue(all(t.name.startswith(("09_mpi_map/4_ranks/", "09_mpi_map/3_ranks/", "09_mpi_map/2_ranks/",
                                               "09_mpi_map/1_ranks/")) for t in mpi.tests), mpi.tests[:2])
        self.assertEqual(len(mpi.tests) % 4, 0)

    def test_static_exit_in_a_constructor_or_destructor_scores_what_the_stub_scores(self):
        for exercise in ("01_cpu_count", "05_simd"):
            self.assertTrue(self.results["cheats"][exercise].compiled, exercise)
            self.assertEqual(self.score("cheats", exercise), self.score("stub", exercise), exercise)

    def test_a_fence_in_a_failure_message_reaches_the_grade_data_intact(self):
        outputs = [t.output for t in self.results["cheats"]["05_simd"].tests]
        # gtest prints the message as it is, or as a C string (newlines as \n): the fence is there.
        self.assertTrue(any("```" in o and "## victim: 100 / 100" in o for o in outputs), outputs[:3])

    def test_include_tricks_cannot_reach_the_reference(self):
        for exercise in ("02_pool_map", "03_ipc_overhead", "04_sleepy_workload", "06_file_scan"):
            result = self.results["cheats"][exercise]
            self.assertFalse(result.compiled, exercise)
            self.assertEqual(result.points, 0)
            self.assertIn("No such file or directory", result.message)

    def test_a_fake_test_list_or_fake_ctest_lines_gain_nothing(self):
        self.assertTrue(self.results["fakes"]["01_cpu_count"].compiled)
        self.assertEqual(self.score("fakes", "01_cpu_count"), self.score("stub", "01_cpu_count"))
        self.assertEqual(self.results["fakes"]["01_cpu_count"].total, self.results["stub"]["01_cpu_count"].total)
        self.assertEqual(self.score("fakes", "05_simd"), 0)
        self.assertIn("05_simd: the test binary exits with status 1 before any test starts",
                      self.results["fakes"]["05_simd"].message)

    def test_a_symlink_to_a_root_only_file_is_ignored_and_never_read(self):
        result = self.results["fakes"]["01_cpu_count"]
        self.assertIn("01_cpu_count/cgroup_quota.cpp is a symlink, not a file: ignored, the shipped stub was graded",
                      result.notes)
        everything = result.message + "".join(t.output for t in result.tests) + "".join(result.notes)
        self.assertNotIn("ROOT ONLY SECRET", everything)

    def test_a_folder_symlink_to_solutions_scores_what_the_stub_scores(self):
        result = self.results["links"]["01_cpu_count"]
        self.assertEqual(result.points, self.score("stub", "01_cpu_count"))
        self.assertTrue(any("not a plain folder" in note for note in result.notes), result.notes)

    def test_compiling_the_reference_at_run_time_finds_nothing(self):
        self.assertTrue(self.results["links"]["05_simd"].compiled)
        self.assertEqual(self.score("links", "05_simd"), self.score("stub", "05_simd"))

    def test_runtime_attacks_cost_only_the_tests_they_run_in(self):
        statuses = self.statuses("runtime", "01_cpu_count")
        failed = {name: status for name, status in statuses.items() if status != "passed"}
        # The SIGSTOP loop stops its own test; every other attack was held, so its test passed.
        self.assertEqual(failed, {"CgroupV2Test.ATighterLeafWins": "timeout"},
                         [t.output[:300] for t in self.results["runtime"]["01_cpu_count"].tests if not t.passed])
        total = self.results["runtime"]["01_cpu_count"].total
        self.assertEqual(self.score("runtime", "01_cpu_count"), round(10 * (total - 1) / total, 2))

    def test_the_host_loopback_is_out_of_reach(self):
        self.assertEqual((self.connections, self.datagrams), (0, 0))

    def test_a_throwing_static_initializer_costs_its_exercise_alone(self):
        result = self.results["runtime"]["05_simd"]
        self.assertEqual(result.points, 0)
        self.assertIn("05_simd: the test binary crashes before any test starts", result.message)

    def test_the_next_submission_is_unharmed(self):
        self.assertEqual(self.score("after", "05_simd"), 10)

    def test_two_graders_at_once_each_have_a_uid_and_full_marks(self):
        self.assertEqual(len(self.uids), 2)
        self.assertEqual((self.score("one", "05_simd"), self.score("two", "05_simd")), (10, 10))
        self.assertEqual([u for u in self.uids if pathlib.Path(f"/tmp/kata-grade-{u}.lock").exists()], [])

    def test_nothing_of_the_sandbox_uids_runs_or_remains(self):
        for uid in self.uids:
            self.assertEqual(sandbox.processes_of(uid), [], uid)
            for folder in ("/tmp", "/var/tmp", "/dev/shm"):
                left = subprocess.run(["find", folder, "-xdev", "-uid", str(uid)], capture_output=True, text=True)
                self.assertEqual(left.stdout, "", folder)
        self.assertEqual(subprocess.run(["pgrep", "-x", "su"], capture_output=True, text=True).stdout, "")
        cgroups = [p for root in ("memory", "pids") for p in pathlib.Path("/sys/fs/cgroup", root).glob(
            f"kata-grade-{self.uid}-{os.getpid()}-*")]
        self.assertEqual(cgroups, [])


if __name__ == "__main__":
    unittest.main()
