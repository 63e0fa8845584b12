// Exercise 06: find files by extension, sequentially, with processes, with work stealing.
//
// The contract: tests and graders call exactly these functions.
#pragma once

#include <filesystem>
#include <span>
#include <string>
#include <vector>

namespace kata {

struct ScanOptions {
  // A file matches when its name ends with these bytes, like Python's
  // name.endswith(".py"). It must start with '.' and hold no '/' and no NUL byte;
  // anything else (an empty string, "py") throws std::invalid_argument.
  std::string extension = ".py";
  // false: a symlink is never entered; it is reported by its own name like any
  //        other non-directory, whatever it points to (`find ROOT ! -type d -name`).
  // true:  a symlink to a directory is entered, and the paths found go through
  //        the link; a symlink loop ends, and each file is reported once (under
  //        its bytewise-smallest path).
  bool follow_symlinks = false;
};

struct ScanResult {
  // Every non-directory whose name has the extension, as its root joined with the
  // path below it (os.path.join: "root" + "/" + "a/b.py"), sorted bytewise by the
  // native byte string (not by std::filesystem::path's element-wise operator<).
  std::vector<std::filesystem::path> files;
  // The directories that could not be read (a missing root, a root that is not a
  // directory, a directory without read permission), sorted bytewise. The scan
  // goes on past each of them.
  std::vector<std::filesystem::path> errors;
};

// `roots` is a span: pass a std::vector<std::filesystem::path>, a std::array, or
// std::span(&one_root, 1). They are scanned as if one after the other: several
// roots give one merged result, and no roots give an empty one. A root is opened through symlinks
// (like os.walk and `find -H`), below it the options decide.

// One thread, depth first: openat()/fdopendir() relative to the parent directory,
// d_type instead of a stat() per entry.
[[nodiscard]] ScanResult scan_sequential(std::span<const std::filesystem::path> roots,
                                         const ScanOptions& options = {});

// The notebook's design: this process lists each root (files directly in a root
// are matched here), then hands the roots' immediate subdirectories out to a pool
// of `workers` forked processes (never more than there are subdirectories); each
// walks its whole subtree and sends the paths back through its pipe, framed by
// length so newlines and non-UTF-8 bytes survive. workers == 0 throws
// std::invalid_argument; a worker that dies throws kata::WorkerError.
[[nodiscard]] ScanResult scan_processes(std::span<const std::filesystem::path> roots,
                                        const ScanOptions& options, unsigned workers);

// Work stealing over every directory: tbb::parallel_for_each with a feeder that
// adds each subdirectory as it is found; per-thread results, merged and sorted.
[[nodiscard]] ScanResult scan_tbb(std::span<const std::filesystem::path> roots,
                                  const ScanOptions& options = {});

}  // namespace kata
