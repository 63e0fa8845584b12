// Tests of exercise 06: finding files by extension, sequentially, with a process
// pool, and with oneTBB work stealing. Every scan runs in a forked child with a
// deadline (a hung pool fails its test, it does not hang the run), and that child
// checks that the scan left no fd and no child process behind.
#include "file_scan.hpp"

#include <kata/child.hpp>
#include <kata/testing.hpp>

#include <grp.h>
#include <pthread.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include <algorithm>
#include <array>
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <optional>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

namespace {

namespace fs = std::filesystem;
using namespace std::chrono_literals;
using kata::ScanOptions;
using kata::ScanResult;
using kata::testing::run_with_deadline;
using kata::testing::TempDir;
using kata::testing::write_file;

enum class Scan { sequential, processes, tbb };
constexpr Scan all_scans[] = {Scan::sequential, Scan::processes, Scan::tbb};

const char* name_of(Scan scan) {
  switch (scan) {
    case Scan::sequential:
      return "scan_sequential";
    case Scan::processes:
      return "scan_processes";
    case Scan::tbb:
      return "scan_tbb";
  }
  return "?";
}

// What a scan returned, as plain strings: gtest prints them with their bytes escaped.
struct Found {
  std::vector<std::string> files;
  std::vector<std::string> errors;
};

// How the child hands a result back: each path as "F<length>:<bytes>" or
// "E<length>:<bytes>", so any byte survives (the same lesson as the exercise).
std::string encode(const ScanResult& result) {
  std::string out;
  for (const auto& [tag, list] : {std::pair{'F', &result.files}, std::pair{'E', &result.errors}}) {
    for (const fs::path& path : *list) {
      out += tag + std::to_string(path.native().size()) + ':' + path.native();
    }
  }
  return out;
}

Found decode(const std::string& text) {
  Found found;
  std::size_t at = 0;
  while (at < text.size()) {
    const char tag = text[at];
    const std::size_t colon = text.find(':', at);
    const std::size_t size = std::stoul(text.substr(at + 1, colon - at - 1));
    std::string path = text.substr(colon + 1, size);
    (tag == 'F' ? found.files : found.errors).push_back(std::move(path));
    at = colon + 1 + size;
  }
  return found;
}

// Gives up root's privileges for good (this runs in a throwaway child): as root,
// a directory without permissions is still readable, so nothing could fail.
void become_nobody() {
  if (::geteuid() != 0) {
    return;
  }
  if (::setgroups(0, nullptr) != 0 || ::setgid(65534) != 0 || ::setuid(65534) != 0) {
    throw std::runtime_error("cannot drop privileges to nobody (65534)");
  }
}

struct RunOptions {
  unsigned workers = 3;
  bool as_nobody = false;
  std::optional<fs::path> cwd;
};

// Runs one scan in a child with a deadline; the child also fails if the scan
// left an fd open or a child process behind.
std::optional<Found> run_scan(Scan scan, const std::vector<fs::path>& roots,
                              const ScanOptions& options = {}, const RunOptions& run = {}) {
  const auto outcome = run_with_deadline(
      [&] {
        if (run.as_nobody) {
          become_nobody();
        }
        if (run.cwd && ::chdir(run.cwd->c_str()) != 0) {
          throw std::runtime_error("chdir failed");
        }
        const std::set<int> fds_before = kata::testing::open_fds();
        ScanResult result;
        switch (scan) {
          case Scan::sequential:
            result = kata::scan_sequential(roots, options);
            break;
          case Scan::processes:
            result = kata::scan_processes(roots, options, run.workers);
            break;
          case Scan::tbb:
            result = kata::scan_tbb(roots, options);
            break;
        }
        if (!kata::testing::child_pids().empty()) {
          throw std::runtime_error("the scan left a child process behind (reap every worker)");
        }
        if (kata::testing::open_fds() != fds_before) {
          throw std::runtime_error("the scan left a file descriptor open (close every fd)");
        }
        return encode(result);
      },
      10s);
  if (!outcome.ok()) {
    ADD_FAILURE() << name_of(scan) << ": " << outcome.describe();
    return std::nullopt;
  }
  return decode(outcome.output);
}

// Each of the three scans must find exactly `files` and report exactly `errors`.
void expect_every_scan_finds(const std::vector<fs::path>& roots, const ScanOptions& options,
                             const std::vector<std::string>& files,
                             const std::vector<std::string>& errors = {},
                             const RunOptions& run = {}) {
  for (const Scan scan : all_scans) {
    SCOPED_TRACE(name_of(scan));
    if (const auto found = run_scan(scan, roots, options, run)) {
      EXPECT_EQ(found->files, files) << name_of(scan) << " found the wrong files";
      EXPECT_EQ(found->errors, errors) << name_of(scan) << " reported the wrong errors";
    }
  }
}

// Runs a scan that should throw std::invalid_argument; returns what happened.
std::string what_the_scan_throws(Scan scan, const ScanOptions& options, unsigned workers = 2) {
  TempDir dir;
  const std::vector<fs::path> roots{dir.path()};
  const auto outcome = run_with_deadline(
      [&]() -> std::string {
        try {
          switch (scan) {
            case Scan::sequential:
              (void)kata::scan_sequential(roots, options);
              break;
            case Scan::processes:
              (void)kata::scan_processes(roots, options, workers);
              break;
            case Scan::tbb:
              (void)kata::scan_tbb(roots, options);
              break;
          }
        } catch (const std::invalid_argument&) {
          return "invalid_argument";
        }
        return "no exception";
      },
      10s);
  return outcome.describe();
}

class FileScanTest : public kata::testing::LeakCheckedTest {
 protected:
  TempDir temp;
  fs::path root = temp.path() / "root";

  void SetUp() override {
    LeakCheckedTest::SetUp();
    fs::create_directory(root);
  }

  // root joined with each relative path, as the scans must report them.
  [[nodiscard]] std::vector<std::string> under_root(
      const std::vector<std::string>& relative) const {
    std::vector<std::string> paths;
    paths.reserve(relative.size());
    for (const std::string& path : relative) {
      paths.push_back(root.native() + "/" + path);
    }
    return paths;
  }

  void file(const std::string& relative) const { write_file(root / relative, "x"); }
  void directory(const std::string& relative) const { fs::create_directories(root / relative); }
  void symlink(const std::string& target, const std::string& relative) const {
    fs::create_directories((root / relative).parent_path());
    fs::create_symlink(target, root / relative);
  }
};

TEST_F(FileScanTest, FindsFilesAtEveryDepthAndDirectlyInTheRoot) {
  file("top.py");
  file("a/one.py");
  file("a/b/c/d/deep.py");
  file("e/two.py");
  file("e/notes.txt");
  expect_every_scan_finds({root}, {},
                          under_root({"a/b/c/d/deep.py", "a/one.py", "e/two.py", "top.py"}));
}

TEST_F(FileScanTest, PathsAreTheRootJoinedWithThePathBelowIt) {
  file("a/x.py");
  file("y.py");
  // A trailing slash is not doubled (os.path.join), and a relative root stays relative.
  expect_every_scan_finds({fs::path(root.native() + "/")}, {},
                          {root.native() + "/a/x.py", root.native() + "/y.py"});
  RunOptions in_temp;
  in_temp.cwd = temp.path();
  expect_every_scan_finds({"root"}, {}, {"root/a/x.py", "root/y.py"}, {}, in_temp);
}

TEST_F(FileScanTest, NamesWithSpacesNewlinesAndNonUtf8BytesSurviveThePipes) {
  // Split on '\n' and "two\nlines.py" becomes two bogus paths.
  const std::vector<std::string> odd = {"with space.py",
                                        "two\nlines.py",
                                        "\xff\xfe latin1 \xe9.py",
                                        "dir\nwith\nnewlines/inside.py",
                                        "\xc3\x28 bad utf8 dir/x\xa0y.py",
                                        "tab\there.py",
                                        "ends with newline.py\n"};
  std::vector<std::string> expected;
  for (const std::string& name : odd) {
    file(name);
    if (name.ends_with(".py")) {
      expected.push_back(root.native() + "/" + name);
    }
  }
  std::sort(expected.begin(), expected.end());
  expect_every_scan_finds({root}, {}, expected);
}

TEST_F(FileScanTest, TheExtensionMatchesExactly) {
  for (const char* name : {"a.py", ".py", "x.py/inside.py", "b.pyc", "c.py.bak", "py", "happy",
                           "D.PY", "e.py~", "fpy", "g.p", "x.py/h.pyw"}) {
    file(name);
  }
  directory("empty.py");  // a directory is never a file, whatever its name
  // ".py" is a hidden file with an empty stem; os.walk + endswith('.py') reports it too.
  expect_every_scan_finds({root}, {}, under_root({".py", "a.py", "x.py/inside.py"}));
}

TEST_F(FileScanTest, AnyExtensionCanBeAskedFor) {
  for (const char* name : {"a.tar.gz", "b.gz", "c.tar.gz.part", "d/e.tar.gz", "f.py"}) {
    file(name);
  }
  ScanOptions options;
  options.extension = ".tar.gz";
  expect_every_scan_finds({root}, options, under_root({"a.tar.gz", "d/e.tar.gz"}));
}

TEST_F(FileScanTest, AnExtensionWithoutItsDotOrEmptyIsRejected) {
  for (const std::string& extension :
       {std::string(), std::string("py"), std::string(".p/y"), std::string(".p\0y", 4)}) {
    ScanOptions options;
    options.extension = extension;
    for (const Scan scan : all_scans) {
      EXPECT_EQ(what_the_scan_throws(scan, options), "returned \"invalid_argument\"")
          << name_of(scan) << " with extension \"" << extension << "\"";
    }
  }
}

TEST_F(FileScanTest, ScanProcessesRejectsZeroWorkers) {
  EXPECT_EQ(what_the_scan_throws(Scan::processes, {}, 0), "returned \"invalid_argument\"");
}

TEST_F(FileScanTest, HiddenFilesAndHiddenDirectoriesAreScanned) {
  file(".hidden.py");
  file(".git/hooks/pre-commit.py");
  file(".cache/.x.py");
  file("visible/.also.py");
  expect_every_scan_finds(
      {root}, {},
      under_root({".cache/.x.py", ".git/hooks/pre-commit.py", ".hidden.py", "visible/.also.py"}));
}

TEST_F(FileScanTest, SymlinkedDirectoriesAreNotFollowedByDefault) {
  TempDir outside;
  write_file(outside.path() / "far.py", "x");
  file("real/a.py");
  symlink("real", "again");
  symlink(outside.path(), "away");
  symlink(".", "self");
  expect_every_scan_finds({root}, {}, under_root({"real/a.py"}));
}

TEST_F(FileScanTest, WithoutFollowingASymlinkIsReportedByItsOwnName) {
  // Like `find ROOT ! -type d -name '*.py'`: the link's name counts, not its target's.
  file("target.txt");
  file("real.py");
  directory("dir");
  symlink("target.txt", "alias.py");
  symlink("real.py", "alias.txt");
  symlink("does-not-exist", "dangling.py");
  symlink("dir", "dirlink.py");
  expect_every_scan_finds({root}, {},
                          under_root({"alias.py", "dangling.py", "dirlink.py", "real.py"}));
}

TEST_F(FileScanTest, FollowingSymlinksEntersLinkedDirectoriesThroughTheLink) {
  TempDir outside;
  write_file(outside.path() / "far.py", "x");
  write_file(outside.path() / "sub/farther.py", "x");
  file("target.txt");
  symlink(outside.path(), "away");
  symlink("target.txt", "alias.py");
  symlink("does-not-exist", "dangling.py");
  ScanOptions options;
  options.follow_symlinks = true;
  expect_every_scan_finds(
      {root}, options,
      under_root({"alias.py", "away/far.py", "away/sub/farther.py", "dangling.py"}));
}

TEST_F(FileScanTest, FollowingASymlinkLoopEndsAndReportsEachFileOnce) {
  file("d/a.py");
  file("d/e/b.py");
  symlink("..", "d/up");        // back to the root
  symlink(".", "d/e/here");     // to itself
  symlink("../..", "d/e/top");  // to the root, two levels up
  ScanOptions options;
  options.follow_symlinks = true;
  expect_every_scan_finds({root}, options, under_root({"d/a.py", "d/e/b.py"}));
}

TEST_F(FileScanTest, FollowingTwoPathsToOneDirectoryReportsItsFilesOnceUnderTheSmallestPath) {
  // x and y link to each other: each file is reachable by two paths. The file is
  // reported once, under the path that sorts first, whichever was walked first.
  file("x/fx.py");
  file("y/fy.py");
  symlink("../y", "x/to_y");
  symlink("../x", "y/to_x");
  file("real/r.py");
  symlink("real", "alias");
  ScanOptions options;
  options.follow_symlinks = true;
  expect_every_scan_finds({root}, options, under_root({"alias/r.py", "x/fx.py", "x/to_y/fy.py"}));
}

TEST_F(FileScanTest, AnUnreadableDirectoryIsReportedAndTheRestIsFound) {
  file("ok/a.py");
  file("ok/locked_too/hidden.py");
  file("locked/b.py");
  file("z.py");
  file("zz/c.py");
  // Readable by others (nobody will scan it), except the two locked directories.
  fs::permissions(temp.path(), fs::perms::all & ~fs::perms::group_write & ~fs::perms::others_write);
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    fs::permissions(entry.path(), fs::perms::others_read | fs::perms::others_exec,
                    fs::perm_options::add);
  }
  fs::permissions(root / "locked", fs::perms::none);
  fs::permissions(root / "ok/locked_too", fs::perms::none);
  // The test must be able to fail: make sure nobody really cannot read them.
  const auto probe = run_with_deadline(
      [&] {
        become_nobody();
        return std::string(::access((root / "locked").c_str(), R_OK) == 0 ? "readable" : "locked");
      },
      10s);
  ASSERT_EQ(probe.describe(), "returned \"locked\"");

  RunOptions as_nobody;
  as_nobody.as_nobody = true;
  expect_every_scan_finds({root}, {}, under_root({"ok/a.py", "z.py", "zz/c.py"}),
                          under_root({"locked", "ok/locked_too"}), as_nobody);
  fs::permissions(root / "locked", fs::perms::owner_all);
  fs::permissions(root / "ok/locked_too", fs::perms::owner_all);
}

TEST_F(FileScanTest, NoRootsGiveAnEmptyResult) {
  expect_every_scan_finds({}, {}, {});
}

TEST_F(FileScanTest, AnEmptyDirectoryGivesNothing) {
  expect_every_scan_finds({root}, {}, {});
}

TEST_F(FileScanTest, AMissingRootIsAnErrorAndTheOtherRootsAreStillScanned) {
  file("first/a.py");
  file("second/b.py");
  file("plain.py");
  const fs::path missing = root / "missing";
  const fs::path not_a_directory = root / "plain.py";
  expect_every_scan_finds({root / "first", missing, not_a_directory, root / "second"}, {},
                          under_root({"first/a.py", "second/b.py"}),
                          {missing.native(), not_a_directory.native()});
}

TEST_F(FileScanTest, SeveralRootsGiveOneSortedResult) {
  file("b/2.py");
  file("a/3.py");
  file("a/1/x.py");
  file("c/0.py");
  expect_every_scan_finds({root / "c", root / "a", root / "b"}, {},
                          under_root({"a/1/x.py", "a/3.py", "b/2.py", "c/0.py"}));
}

TEST_F(FileScanTest, RootsAreOpenedThroughSymlinks) {
  file("real/a.py");
  symlink("real", "link");
  expect_every_scan_finds({root / "link"}, {}, under_root({"link/a.py"}));
}

TEST_F(FileScanTest, FilesAreSortedBytewiseNotByPathElements) {
  // Bytewise: 'B' (0x42) < 'a' (0x61); '-' (0x2d) < '/' (0x2f), so "a-b.py" comes
  // before "a/b.py" (std::filesystem::path's operator< says the opposite: it
  // compares "a" with "a-b.py" first); 0xff is the largest byte, not a negative char.
  for (const char* name : {"a/b.py", "a-b.py", "B.py", "a.py", "\xff.py", "a0.py", "a/a.py"}) {
    file(name);
  }
  expect_every_scan_finds(
      {root}, {}, under_root({"B.py", "a-b.py", "a.py", "a/a.py", "a/b.py", "a0.py", "\xff.py"}));
}

TEST_F(FileScanTest, APipeFullOfPathsDoesNotBlockThePool) {
  // About 350 KB of paths from one worker: far more than a pipe holds (64 KB). A
  // parent that waits for its workers before reading their pipes deadlocks here.
  const std::string long_part(200, 'n');
  std::vector<std::string> expected;
  for (int i = 0; i < 1500; ++i) {
    const std::string name = "big/" + long_part + std::to_string(i) + ".py";
    file(name);
    expected.push_back(root.native() + "/" + name);
  }
  file("small/x.py");
  expected.push_back(root.native() + "/small/x.py");
  std::sort(expected.begin(), expected.end());
  expect_every_scan_finds({root}, {}, expected);
}

// A tree built from a fixed seed: many directories of many shapes.
std::vector<std::string> build_mixed_tree(const fs::path& root) {
  std::vector<std::string> expected;
  unsigned state = 12345;
  const auto next = [&state] {
    state = state * 1103515245U + 12345U;
    return (state >> 16) & 0x7fff;
  };
  const char* suffixes[] = {".py", ".pyc", ".txt", ".py.bak", ".c", ""};
  for (int top = 0; top < 7; ++top) {
    const int width = top == 0 ? 40 : 1 + static_cast<int>(next() % 5);  // one huge, many small
    for (int sub = 0; sub < width; ++sub) {
      fs::path dir = root / ("top" + std::to_string(top)) / ("s" + std::to_string(sub));
      if (next() % 3 == 0) {
        dir /= ".hidden" + std::to_string(sub);
      }
      const int files = static_cast<int>(next() % 12);
      for (int f = 0; f < files; ++f) {
        const char* suffix = suffixes[next() % 6];
        const std::string name =
            (next() % 4 == 0 ? "." : "") + std::string("f") + std::to_string(f) + suffix;
        write_file(dir / name, "x");
        if (std::string_view(suffix) == ".py") {
          expected.push_back((dir / name).native());
        }
      }
      fs::create_directories(dir);
    }
  }
  std::sort(expected.begin(), expected.end());
  return expected;
}

TEST_F(FileScanTest, AllThreeAgreeOnAMixedTree) {
  const std::vector<std::string> expected = build_mixed_tree(root);
  ASSERT_GT(expected.size(), 20U);
  expect_every_scan_finds({root}, {}, expected);
}

TEST_F(FileScanTest, ScanProcessesWorksWithOneWorkerAndWithMoreWorkersThanDirectories) {
  file("top.py");
  file("a/1.py");
  file("b/2.py");
  file("c/d/3.py");
  const auto expected = under_root({"a/1.py", "b/2.py", "c/d/3.py", "top.py"});
  for (const unsigned workers : {1U, 2U, 3U, 16U}) {
    RunOptions run;
    run.workers = workers;
    const auto found = run_scan(Scan::processes, {root}, {}, run);
    ASSERT_TRUE(found.has_value()) << "with " << workers << " workers";
    EXPECT_EQ(found->files, expected) << "with " << workers << " workers";
    EXPECT_TRUE(found->errors.empty()) << "with " << workers << " workers";
  }
}

// Counts fork() calls in this (throwaway) child: glibc runs the atfork handlers
// before every fork(), so the count is how many workers the pool started.
int forks_seen = 0;

std::string forks_for(const fs::path& root, unsigned workers) {
  const auto outcome = run_with_deadline(
      [&] {
        ::pthread_atfork([] { ++forks_seen; }, nullptr, nullptr);
        const ScanResult result = kata::scan_processes(std::vector<fs::path>{root}, {}, workers);
        return std::to_string(forks_seen) + " forks, " + std::to_string(result.files.size()) +
               " files";
      },
      10s);
  return outcome.describe();
}

TEST_F(FileScanTest, ScanProcessesForksOneWorkerPerTopLevelDirectoryUpToWorkers) {
  file("a/1.py");
  file("b/2.py");
  file("c/3.py");
  file("top.py");
  EXPECT_EQ(forks_for(root, 1), "returned \"1 forks, 4 files\"") << "one worker does every task";
  EXPECT_EQ(forks_for(root, 2), "returned \"2 forks, 4 files\"") << "a pool of two processes";
  EXPECT_EQ(forks_for(root, 16), "returned \"3 forks, 4 files\"")
      << "never more workers than top-level directories";
}

// A scan's fds are closed when it returns, not a moment later. oneTBB counts a fed
// item as done before it destroys its stored copy, so a copy that still holds a
// directory open closes its fd after parallel_for_each has returned. The window is a
// few instructions wide: the tree is scanned many times while processes that never
// sleep take the CPUs away from oneTBB's threads at random moments.
TEST_F(FileScanTest, ScanTbbClosesEveryDirectoryBeforeItReturns) {
  for (int a = 0; a < 8; ++a) {
    for (int b = 0; b < 8; ++b) {
      file(std::to_string(a) + "/" + std::to_string(b) + "/x.py");
    }
  }
  const auto outcome = run_with_deadline(
      [&] {
        std::array<kata::ChildProcess, 4> spinners;  // killed and reaped when dropped
        for (auto& spinner : spinners) {
          spinner = kata::fork_child([] {
            const volatile bool forever = true;  // a volatile read: the loop is not optimised away
            while (forever) {
            }
            return 0;
          });
        }
        const std::vector<fs::path> roots{root};
        const std::set<int> before = kata::testing::open_fds();
        // 3000 scans caught the bug in 7 runs of 8 on the course's 2-core VM; a slow
        // machine stops sooner, with fewer chances, rather than run into the deadline.
        const auto enough = std::chrono::steady_clock::now() + 10s;
        int late = 0;
        for (int i = 0; i < 3000 && std::chrono::steady_clock::now() < enough; ++i) {
          (void)kata::scan_tbb(roots, {});
          late += kata::testing::open_fds() != before ? 1 : 0;
        }
        return std::to_string(late) + " scans returned with a directory still open";
      },
      30s);
  EXPECT_EQ(outcome.describe(), "returned \"0 scans returned with a directory still open\"");
}

TEST_F(FileScanTest, ARootWithOnlyFilesNeedsNoWorkers) {
  file("a.py");
  file("b.txt");
  expect_every_scan_finds({root}, {}, under_root({"a.py"}));
  EXPECT_EQ(forks_for(root, 4), "returned \"0 forks, 1 files\"")
      << "files directly in a root are matched by the parent: no task, no worker";
}

}  // namespace
