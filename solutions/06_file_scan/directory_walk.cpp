// Reading one directory the way fast tools do: openat() relative to the parent's
// fd (the kernel resolves one name, not the whole path again), and the type from
// readdir()'s d_type (no stat() per entry; fstatat() only where d_type is
// DT_UNKNOWN, or for a symlink we were asked to follow).
#include "directory_walk.hpp"

#include <kata/errors.hpp>
#include <kata/fd.hpp>

#include <fcntl.h>
#include <sys/stat.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <set>
#include <stdexcept>
#include <tuple>
#include <utility>

namespace kata::scan {

void check_options(const ScanOptions& options) {
  const std::string& extension = options.extension;
  if (extension.empty() || extension.front() != '.') {
    throw std::invalid_argument("ScanOptions::extension must start with '.' (\".py\", not \"" +
                                extension + "\")");
  }
  if (extension.find('/') != std::string::npos || extension.find('\0') != std::string::npos) {
    throw std::invalid_argument(
        "ScanOptions::extension must not hold '/' or a NUL byte: no file name could end with it");
  }
}

bool has_extension(std::string_view name, std::string_view extension) {
  return name.ends_with(extension);
}

namespace {

// A directory that cannot be read is a fact about the tree: note it and go on.
// Running out of fds or memory is not, and a result that silently missed part of
// the tree would be wrong: throw.
void note_unreadable(Findings& findings, std::string path, const char* call) {
  if (errno == EMFILE || errno == ENFILE || errno == ENOMEM) {
    throw_errno(std::string(call) + " " + path);
  }
  findings.errors.push_back(std::move(path));
}

bool is_ancestor(const std::vector<DirectoryId>& ancestors, DirectoryId id) {
  return std::find(ancestors.begin(), ancestors.end(), id) != ancestors.end();
}

// Wraps an open directory fd in a stream. With follow_symlinks it also learns the
// directory's identity; a directory that is its own ancestor (a loop) gives nullopt.
std::optional<OpenDirectory> make_open_directory(UniqueFd fd, std::string path,
                                                 std::vector<DirectoryId> ancestors,
                                                 const ScanOptions& options, Findings& findings) {
  if (options.follow_symlinks) {
    struct stat status {};
    if (::fstat(fd.get(), &status) == -1) {
      note_unreadable(findings, std::move(path), "fstat");
      return std::nullopt;
    }
    const DirectoryId id{status.st_dev, status.st_ino};
    if (is_ancestor(ancestors, id)) {
      return std::nullopt;
    }
    ancestors.push_back(id);
  }
  DirStream stream(::fdopendir(fd.get()));
  if (!stream) {
    note_unreadable(findings, std::move(path), "fdopendir");
    return std::nullopt;  // fd still owns the descriptor and closes it
  }
  (void)fd.release();  // the stream owns it now: closedir() closes it
  return OpenDirectory{std::move(stream), std::move(path), std::move(ancestors)};
}

// os.path.join(directory, name): one '/' between, none added after a trailing one.
std::string join(const std::string& directory, std::string_view name) {
  std::string path;
  path.reserve(directory.size() + 1 + name.size());
  path += directory;
  if (path.empty() || path.back() != '/') {
    path += '/';
  }
  path += name;
  return path;
}

// What fstatat() says an entry is, in d_type's terms; DT_UNKNOWN if it is gone.
unsigned char type_from_stat(int dir_fd, const char* name) {
  struct stat status {};
  if (::fstatat(dir_fd, name, &status, AT_SYMLINK_NOFOLLOW) == -1) {
    return DT_UNKNOWN;
  }
  if (S_ISDIR(status.st_mode)) {
    return DT_DIR;
  }
  if (S_ISLNK(status.st_mode)) {
    return DT_LNK;
  }
  return DT_REG;  // every other kind is a non-directory, matched by name
}

}  // namespace

std::optional<OpenDirectory> open_root(const std::filesystem::path& root,
                                       const ScanOptions& options, Findings& findings) {
  UniqueFd fd(::open(root.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!fd) {
    note_unreadable(findings, root.native(), "open");
    return std::nullopt;
  }
  return make_open_directory(std::move(fd), root.native(), {}, options, findings);
}

std::optional<OpenDirectory> open_subdirectory(const OpenDirectory& parent,
                                               const Subdirectory& subdirectory,
                                               const ScanOptions& options, Findings& findings) {
  if (subdirectory.through_symlink && is_ancestor(parent.ancestors, subdirectory.id)) {
    return std::nullopt;  // the link leads back up: entering it would never end
  }
  // O_NOFOLLOW: an entry listed as a directory but swapped for a symlink since
  // must not lead us out of the tree.
  const int flags =
      O_RDONLY | O_DIRECTORY | O_CLOEXEC | (subdirectory.through_symlink ? 0 : O_NOFOLLOW);
  std::string path = join(parent.path, subdirectory.name);
  UniqueFd fd(::openat(::dirfd(parent.stream.get()), subdirectory.name.c_str(), flags));
  if (!fd) {
    note_unreadable(findings, std::move(path), "openat");
    return std::nullopt;
  }
  return make_open_directory(std::move(fd), std::move(path), parent.ancestors, options, findings);
}

std::vector<Subdirectory> read_directory(OpenDirectory& directory, const ScanOptions& options,
                                         Findings& findings) {
  const int dir_fd = ::dirfd(directory.stream.get());
  const DirectoryId here = options.follow_symlinks ? directory.ancestors.back() : DirectoryId{};
  std::vector<Subdirectory> subdirectories;
  for (;;) {
    errno = 0;  // readdir() returns nullptr both at the end and on error
    // readdir() is safe in threads that each read their own DIR stream (glibc
    // deprecated readdir_r in 2.24); scan_tbb never shares a stream between threads.
    const dirent* entry = ::readdir(directory.stream.get());  // NOLINT(concurrency-mt-unsafe)
    if (entry == nullptr) {
      if (errno != 0) {
        note_unreadable(findings, directory.path, "readdir");
      }
      return subdirectories;
    }
    const char* name = entry->d_name;
    if (std::strcmp(name, ".") == 0 || std::strcmp(name, "..") == 0) {
      continue;
    }
    unsigned char type = entry->d_type;
    if (type == DT_UNKNOWN) {  // some file systems (and old XFS) leave it to us
      type = type_from_stat(dir_fd, name);
      if (type == DT_UNKNOWN) {
        continue;  // removed since readdir() saw it
      }
    }
    if (type == DT_LNK && options.follow_symlinks) {
      struct stat target {};
      if (::fstatat(dir_fd, name, &target, 0) == 0 && S_ISDIR(target.st_mode)) {
        subdirectories.push_back({name, true, {target.st_dev, target.st_ino}});
        continue;
      }
      // A dangling link, or one to a non-directory: matched by its own name below.
    }
    if (type == DT_DIR) {
      subdirectories.push_back({name, false, {}});
    } else if (has_extension(name, options.extension)) {
      findings.files.push_back({join(directory.path, name), here});
    }
  }
}

void merge_into(Findings& whole, Findings&& part) {
  whole.files.insert(whole.files.end(), std::make_move_iterator(part.files.begin()),
                     std::make_move_iterator(part.files.end()));
  whole.errors.insert(whole.errors.end(), std::make_move_iterator(part.errors.begin()),
                      std::make_move_iterator(part.errors.end()));
}

ScanResult make_result(Findings findings, const ScanOptions& options) {
  // std::string's operator< compares bytes as unsigned char: "B" < "a", "a-b" < "a/b".
  std::sort(findings.files.begin(), findings.files.end(),
            [](const FoundFile& a, const FoundFile& b) { return a.path < b.path; });
  std::sort(findings.errors.begin(), findings.errors.end());

  // With follow_symlinks one directory may be reached by several paths: keep, for
  // each (directory, name), the first path in sorted order, so all three scans
  // agree whichever path each happened to take first.
  std::vector<bool> keep(findings.files.size(), true);
  if (options.follow_symlinks) {
    std::set<std::tuple<dev_t, ino_t, std::string_view>> seen;
    for (std::size_t i = 0; i < findings.files.size(); ++i) {
      const FoundFile& file = findings.files[i];
      const std::string_view name = std::string_view(file.path).substr(file.path.rfind('/') + 1);
      keep[i] = seen.emplace(file.directory.dev, file.directory.ino, name).second;
    }
  }
  ScanResult result;
  result.files.reserve(findings.files.size());
  for (std::size_t i = 0; i < findings.files.size(); ++i) {
    if (keep[i]) {
      result.files.emplace_back(std::move(findings.files[i].path));
    }
  }
  for (std::string& error : findings.errors) {
    result.errors.emplace_back(std::move(error));
  }
  return result;
}

}  // namespace kata::scan
