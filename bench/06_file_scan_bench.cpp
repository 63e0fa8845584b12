// Finding .py files in a tree of 100,000 files (./kata bench 06): the plain walk,
// the notebook's process pool, oneTBB work stealing, the real tools, `find` and
// (where installed) `fdfind`, and the notebook's Python cell, all on the same warm tree.
//
// Two trees from a fixed seed, generated once per run in a temp directory:
//   lopsided: one huge top-level directory (20,000 files in one directory, plus
//             400 subdirectories) beside 400 small ones: a pool that gives each
//             worker whole top-level directories waits for the one with "huge".
//   balanced: 16 top-level directories of the same shape and size.
// About 10% of the files are .py; the decoys are .pyc, .py.bak, .txt, .json,
// hidden files and hidden directories.
#include "file_scan.hpp"

#include <kata/cpus.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>

#include <fcntl.h>
#include <spawn.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <map>
#include <string>
#include <vector>

extern char** environ;

namespace {

namespace fs = std::filesystem;

enum class Shape { lopsided, balanced };

// A small fixed-seed generator: the same tree on every machine and every run.
class Random {
 public:
  std::uint32_t next() {
    state_ = state_ * 6364136223846793005ULL + 1442695040888963407ULL;
    return static_cast<std::uint32_t>(state_ >> 33);
  }

 private:
  std::uint64_t state_ = 2024;
};

void make_directory(const fs::path& path) {
  if (::mkdir(path.c_str(), 0755) == -1 && errno != EEXIST) {
    kata::throw_errno("mkdir " + path.native());
  }
}

// `count` empty files in `directory`: about 10% .py, the rest decoys.
void make_files(const fs::path& directory, int count, Random& random) {
  static const char* const suffixes[] = {".py", ".pyc", ".py.bak", ".txt", ".json",
                                         ".c",  ".h",   ".md",     ".txt", ".rst"};
  make_directory(directory);
  for (int i = 0; i < count; ++i) {
    const std::uint32_t r = random.next();
    std::string name = (r % 20 == 0 ? ".file_" : "file_") + std::to_string(i) + suffixes[r % 10];
    const fs::path file = directory / name;
    kata::UniqueFd fd(::open(file.c_str(), O_WRONLY | O_CREAT | O_CLOEXEC, 0644));
    if (!fd) {
      kata::throw_errno("create " + file.native());
    }
  }
}

// A top-level directory: `subdirectories` of `files_each` files, every eighth one
// hidden, every fourth one with a nested level.
void make_top(const fs::path& top, int subdirectories, int files_each, Random& random) {
  make_directory(top);
  for (int s = 0; s < subdirectories; ++s) {
    const fs::path sub = top / ((s % 8 == 7 ? ".sub_" : "sub_") + std::to_string(s));
    if (s % 4 == 0) {
      make_files(sub, files_each / 2, random);
      make_files(sub / "nested", files_each - files_each / 2, random);
    } else {
      make_files(sub, files_each, random);
    }
  }
}

class TreeOnDisk {
 public:
  explicit TreeOnDisk(Shape shape) {
    const char* tmpdir = std::getenv("TMPDIR");  // NOLINT(concurrency-mt-unsafe)
    std::string pattern = std::string(tmpdir != nullptr ? tmpdir : "/tmp") + "/kata-bench-XXXXXX";
    if (::mkdtemp(pattern.data()) == nullptr) {
      kata::throw_errno("mkdtemp " + pattern);
    }
    root_ = pattern;
    Random random;
    if (shape == Shape::lopsided) {
      const fs::path huge = root_ / "huge";
      make_files(huge, 20'000, random);  // one huge directory
      make_top(huge, 400, 100, random);  // and 40,000 files below it
      for (int t = 0; t < 400; ++t) {    // 400 small top-level directories
        make_top(root_ / ("small_" + std::to_string(t)), 4, 25, random);
      }
    } else {
      for (int t = 0; t < 16; ++t) {  // 16 x 6,250 files
        make_top(root_ / ("top_" + std::to_string(t)), 50, 125, random);
      }
    }
  }
  ~TreeOnDisk() {
    std::error_code ignored;
    fs::remove_all(root_, ignored);
  }
  TreeOnDisk(const TreeOnDisk&) = delete;
  TreeOnDisk& operator=(const TreeOnDisk&) = delete;

  [[nodiscard]] const fs::path& root() const { return root_; }

 private:
  fs::path root_;
};

// Built on first use, removed when the benchmark program exits.
const fs::path& tree(Shape shape) {
  static std::map<Shape, TreeOnDisk> trees;
  auto it = trees.find(shape);
  if (it == trees.end()) {
    it = trees.try_emplace(shape, shape).first;
  }
  return it->second.root();
}

bool on_path(const std::string& program) {
  const char* path = std::getenv("PATH");  // NOLINT(concurrency-mt-unsafe)
  std::string dirs = path != nullptr ? path : "/usr/bin:/bin";
  std::size_t start = 0;
  while (start <= dirs.size()) {
    const std::size_t end = std::min(dirs.find(':', start), dirs.size());
    if (::access((dirs.substr(start, end - start) + "/" + program).c_str(), X_OK) == 0) {
      return true;
    }
    start = end + 1;
  }
  return false;
}

// Runs a command with its output sent to /dev/null, and waits for it.
void run_quietly(std::vector<std::string> argv) {
  posix_spawn_file_actions_t actions;
  posix_spawn_file_actions_init(&actions);
  posix_spawn_file_actions_addopen(&actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  std::vector<char*> args;
  args.reserve(argv.size() + 1);
  for (std::string& arg : argv) {
    args.push_back(arg.data());
  }
  args.push_back(nullptr);
  pid_t pid = 0;
  const int error = ::posix_spawnp(&pid, args[0], &actions, nullptr, args.data(), environ);
  posix_spawn_file_actions_destroy(&actions);
  if (error != 0) {
    kata::throw_errno("posix_spawnp " + argv[0], error);
  }
  int status = 0;
  while (::waitpid(pid, &status, 0) == -1) {
    if (errno != EINTR) {
      kata::throw_errno("waitpid");
    }
  }
  if (!WIFEXITED(status) || WEXITSTATUS(status) != 0) {
    throw std::runtime_error(argv[0] + " failed");
  }
}

// CPU seconds used so far by this process's threads and its reaped children.
double cpu_seconds() {
  double total = 0;
  for (const int who : {RUSAGE_SELF, RUSAGE_CHILDREN}) {
    rusage usage{};
    if (::getrusage(who, &usage) == -1) {
      kata::throw_errno("getrusage");
    }
    for (const timeval& t : {usage.ru_utime, usage.ru_stime}) {
      total += static_cast<double>(t.tv_sec) + static_cast<double>(t.tv_usec) / 1e6;
    }
  }
  return total;
}

// Runs the benchmark loop and adds "cpu_ms": CPU time per scan over every thread
// and process involved. Wall-clock time says how long you wait; cpu_ms says how
// much work the machine did, and it barely moves when other programs load the machine.
template <class Scan>
void measure(benchmark::State& state, Scan scan) {
  const double cpu_before = cpu_seconds();
  for (auto _ : state) {
    scan();
  }
  state.counters["cpu_ms"] =
      (cpu_seconds() - cpu_before) * 1000 /
      static_cast<double>(std::max<benchmark::IterationCount>(state.iterations(), 1));
}

void report(benchmark::State& state, const kata::ScanResult& result) {
  state.counters["py_files"] = static_cast<double>(result.files.size());
}

void BM_scan_sequential(benchmark::State& state, Shape shape) {
  const std::vector<fs::path> roots{tree(shape)};
  kata::ScanResult result;
  measure(state, [&] { result = kata::scan_sequential(roots); });
  report(state, result);
}

void BM_scan_processes(benchmark::State& state, Shape shape) {
  const std::vector<fs::path> roots{tree(shape)};
  kata::ScanResult result;
  measure(state, [&] { result = kata::scan_processes(roots, {}, kata::default_worker_count()); });
  report(state, result);
}

void BM_scan_tbb(benchmark::State& state, Shape shape) {
  const std::vector<fs::path> roots{tree(shape)};
  kata::ScanResult result;
  measure(state, [&] { result = kata::scan_tbb(roots); });
  report(state, result);
}

void BM_find(benchmark::State& state, Shape shape) {
  const std::string root = tree(shape);
  measure(state, [&] { run_quietly({"find", root, "-name", "*.py"}); });
}

void BM_fdfind(benchmark::State& state, Shape shape) {
  if (!on_path("fdfind")) {
    state.SkipWithError("fdfind is not installed (Debian: apt-get install fd-find)");
    return;
  }
  const std::string root = tree(shape);
  measure(state, [&] { run_quietly({"fdfind", "-u", "-e", "py", ".", root}); });
}

// The notebook's cell, run by python3 on the same tree. It times itself (the
// interpreter's start is not part of the cell) and prints milliseconds.
constexpr const char* notebook_cell = R"(
import os, sys, time
from multiprocessing import Pool
from pathlib import Path

def find_py(top):
    found = []
    for dirpath, dirnames, filenames in os.walk(top):
        found.extend(os.path.join(dirpath, f) for f in filenames if f.endswith('.py'))
    return found

mode, root = sys.argv[1], sys.argv[2]
start = time.perf_counter()
tops = [os.path.join(root, d) for d in os.listdir(root)]
if mode == 'walk':
    files = [f for top in tops for f in find_py(top)]
elif mode == 'pool':
    with Pool() as pool:
        files = [f for part in pool.map(find_py, tops) for f in part]
else:
    files = [str(p) for p in Path(root).glob('**/*.py')]
print((time.perf_counter() - start) * 1000, len(files))
)";

void BM_python(benchmark::State& state, Shape shape, const char* mode) {
  if (!on_path("python3")) {
    state.SkipWithError("python3 is not installed");
    return;
  }
  const std::string command =
      std::string("python3 -c \"$KATA_CELL\" ") + mode + " '" + tree(shape).native() + "'";
  ::setenv("KATA_CELL", notebook_cell, 1);  // NOLINT(concurrency-mt-unsafe): one thread here
  double files = 0;
  for (auto _ : state) {
    // A shell is what we want here: the command is ours, the cell travels in $KATA_CELL.
    FILE* output = ::popen(command.c_str(), "r");  // NOLINT(cert-env33-c)
    if (output == nullptr) {
      kata::throw_errno("popen python3");
    }
    double milliseconds = 0;
    const int fields =
        std::fscanf(output, "%lf %lf", &milliseconds, &files);  // NOLINT(cert-err34-c): checked
    if (::pclose(output) != 0 || fields != 2) {
      state.SkipWithError("the python3 cell failed");
      return;
    }
    state.SetIterationTime(milliseconds / 1000);
  }
  state.counters["py_files"] = files;
}

BENCHMARK_CAPTURE(BM_python, walk_lopsided, Shape::lopsided, "walk")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_python, pool_lopsided, Shape::lopsided, "pool")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_python, glob_lopsided, Shape::lopsided, "glob")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_python, walk_balanced, Shape::balanced, "walk")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();
BENCHMARK_CAPTURE(BM_python, pool_balanced, Shape::balanced, "pool")
    ->Unit(benchmark::kMillisecond)
    ->UseManualTime();

// Wall-clock time: the pool's and the tools' work happens in other processes.
#define KATA_SCAN_BENCHMARK(function)                    \
  BENCHMARK_CAPTURE(function, lopsided, Shape::lopsided) \
      ->Unit(benchmark::kMillisecond)                    \
      ->UseRealTime();                                   \
  BENCHMARK_CAPTURE(function, balanced, Shape::balanced) \
      ->Unit(benchmark::kMillisecond)                    \
      ->UseRealTime()

KATA_SCAN_BENCHMARK(BM_find);
KATA_SCAN_BENCHMARK(BM_fdfind);
KATA_SCAN_BENCHMARK(BM_scan_sequential);
KATA_SCAN_BENCHMARK(BM_scan_processes);
KATA_SCAN_BENCHMARK(BM_scan_tbb);

}  // namespace
