// Exercise 06's building blocks: what the three scans share. You write these too
// (directory_walk.cpp, and walk_tree() in scan_sequential.cpp); the three scans in
// file_scan.hpp are then short.
#pragma once

#include "file_scan.hpp"

#include <dirent.h>
#include <sys/types.h>

#include <cstddef>
#include <filesystem>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace kata::scan {

// Throws std::invalid_argument unless options.extension starts with '.' and holds
// no '/' and no NUL byte.
void check_options(const ScanOptions& options);

// True when `name` ends with `extension`, byte for byte (Python's str.endswith).
[[nodiscard]] bool has_extension(std::string_view name, std::string_view extension);

// A directory's identity, (st_dev, st_ino): the same directory reached by two paths
// has one identity. Only computed with follow_symlinks.
struct DirectoryId {
  dev_t dev = 0;
  ino_t ino = 0;
  friend bool operator==(const DirectoryId&, const DirectoryId&) = default;
};

// A file found: the path to report, and the directory that holds it (with
// follow_symlinks, to report a file reached by two paths once).
struct FoundFile {
  std::string path;
  DirectoryId directory;
};

// What a scan, or one part of it, has found so far.
struct Findings {
  std::vector<FoundFile> files;
  std::vector<std::string> errors;  // directories that could not be read
};

// A subdirectory seen in a listing, still to be opened.
struct Subdirectory {
  std::string name;
  bool through_symlink = false;  // an entry that is a symlink to a directory
  DirectoryId id;                // known already when through_symlink
};

struct DirCloser {
  void operator()(DIR* dir) const noexcept { ::closedir(dir); }
};
// A directory stream owns its fd (fdopendir takes it over); dirfd() borrows it.
using DirStream = std::unique_ptr<DIR, DirCloser>;

// An open directory: its stream, its path as the user will see it, and (with
// follow_symlinks) its own identity and every one above it, to stop at a loop.
struct OpenDirectory {
  DirStream stream;
  std::string path;
  std::vector<DirectoryId> ancestors;
};

// Opens a root (through symlinks). A root that cannot be opened as a directory
// goes to findings.errors and gives std::nullopt.
[[nodiscard]] std::optional<OpenDirectory> open_root(const std::filesystem::path& root,
                                                     const ScanOptions& options,
                                                     Findings& findings);

// Opens `subdirectory` with openat() relative to its parent's fd. One that cannot
// be opened goes to findings.errors; one that would close a symlink loop is
// skipped silently. Either gives std::nullopt.
[[nodiscard]] std::optional<OpenDirectory> open_subdirectory(const OpenDirectory& parent,
                                                             const Subdirectory& subdirectory,
                                                             const ScanOptions& options,
                                                             Findings& findings);

// Reads one open directory to its end: matching files go to findings.files, and
// the subdirectories to enter are returned. A read error mid-way goes to
// findings.errors, and what was read before it counts.
[[nodiscard]] std::vector<Subdirectory> read_directory(OpenDirectory& directory,
                                                       const ScanOptions& options,
                                                       Findings& findings);

// Walks the whole tree below an open directory, depth first, in this thread.
// Written in scan_sequential.cpp; the process pool's workers run it too.
void walk_tree(OpenDirectory& directory, const ScanOptions& options, Findings& findings);

// Turns what the parts found into the result: files and errors sorted bytewise;
// with follow_symlinks, a file reached by several paths keeps only the smallest.
[[nodiscard]] ScanResult make_result(Findings findings, const ScanOptions& options);

// Appends `part` to `whole` (moving the strings).
void merge_into(Findings& whole, Findings&& part);

}  // namespace kata::scan
