// The plain walk: one thread, depth first, one open directory per level.
// It is what os.walk() does, minus a stat() per entry and a path string per directory.
#include "directory_walk.hpp"
#include "file_scan.hpp"

namespace kata {

namespace scan {

void walk_tree(OpenDirectory& directory, const ScanOptions& options, Findings& findings) {
  // read_directory() lists the whole directory first, so only this level's fd
  // stays open while we descend: the depth of the tree, not its width, bounds the fds.
  for (const Subdirectory& subdirectory : read_directory(directory, options, findings)) {
    if (auto child = open_subdirectory(directory, subdirectory, options, findings)) {
      walk_tree(*child, options, findings);
    }
  }
}

}  // namespace scan

ScanResult scan_sequential(std::span<const std::filesystem::path> roots,
                           const ScanOptions& options) {
  scan::check_options(options);
  scan::Findings findings;
  for (const std::filesystem::path& root : roots) {
    if (auto directory = scan::open_root(root, options, findings)) {
      scan::walk_tree(*directory, options, findings);
    }
  }
  return scan::make_result(std::move(findings), options);
}

}  // namespace kata
