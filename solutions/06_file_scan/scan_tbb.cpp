// Work stealing over every directory. Each directory is one work item; reading it
// feeds its subdirectories back as new items, and idle threads steal them. A huge
// top-level directory is split among all threads instead of landing on one worker.
#include "directory_walk.hpp"
#include "file_scan.hpp"

#include <oneapi/tbb/enumerable_thread_specific.h>
#include <oneapi/tbb/parallel_for_each.h>

#include <cstddef>
#include <memory>
#include <vector>

namespace kata {

namespace {

// A directory to read: a root (no parent), or a subdirectory of a directory that
// has been read. The parent stays open, shared by its children, until the last of
// them has been opened relative to it.
struct WorkItem {
  std::shared_ptr<const scan::OpenDirectory> parent;
  scan::Subdirectory subdirectory;
  const std::filesystem::path* root = nullptr;
};

}  // namespace

ScanResult scan_tbb(std::span<const std::filesystem::path> roots, const ScanOptions& options) {
  scan::check_options(options);
  std::vector<WorkItem> items;
  for (const std::filesystem::path& root : roots) {
    items.push_back({nullptr, {}, &root});
  }

  // Each thread appends to its own Findings: no lock, no false sharing of one vector.
  //
  // The body takes its item by value, so oneTBB moves a fed item into it, and the
  // item's share of its parent directory is dropped when the body returns. Taken by
  // reference, the stored copy would be destroyed by oneTBB after it has counted the
  // item as done: parallel_for_each could then return while another thread still
  // held the last share of a directory, whose fd would close a moment too late.
  tbb::enumerable_thread_specific<scan::Findings> per_thread;
  tbb::parallel_for_each(
      items.begin(), items.end(), [&](WorkItem item, tbb::feeder<WorkItem>& feeder) {
        scan::Findings& findings = per_thread.local();
        auto directory =
            item.root != nullptr
                ? scan::open_root(*item.root, options, findings)
                : scan::open_subdirectory(*item.parent, item.subdirectory, options, findings);
        if (!directory) {
          return;
        }
        auto subdirectories = scan::read_directory(*directory, options, findings);
        auto parent = std::make_shared<const scan::OpenDirectory>(std::move(*directory));
        for (scan::Subdirectory& subdirectory : subdirectories) {
          feeder.add({parent, std::move(subdirectory), nullptr});
        }
      });

  scan::Findings all;
  for (scan::Findings& findings : per_thread) {
    scan::merge_into(all, std::move(findings));
  }
  return scan::make_result(std::move(all), options);
}

}  // namespace kata
