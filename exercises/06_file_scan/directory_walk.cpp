// Your building blocks from directory_walk.hpp: reading one directory fast.
// Read README.md first; `./kata hint 06` helps when you are stuck.
#include "directory_walk.hpp"

#include <kata/errors.hpp>

namespace kata::scan {

void check_options([[maybe_unused]] const ScanOptions& options) {
  throw NotImplemented("check_options");
}

bool has_extension([[maybe_unused]] std::string_view name,
                   [[maybe_unused]] std::string_view extension) {
  throw NotImplemented("has_extension");
}

std::optional<OpenDirectory> open_root([[maybe_unused]] const std::filesystem::path& root,
                                       [[maybe_unused]] const ScanOptions& options,
                                       [[maybe_unused]] Findings& findings) {
  throw NotImplemented("open_root");
}

std::optional<OpenDirectory> open_subdirectory([[maybe_unused]] const OpenDirectory& parent,
                                               [[maybe_unused]] const Subdirectory& subdirectory,
                                               [[maybe_unused]] const ScanOptions& options,
                                               [[maybe_unused]] Findings& findings) {
  throw NotImplemented("open_subdirectory");
}

std::vector<Subdirectory> read_directory([[maybe_unused]] OpenDirectory& directory,
                                         [[maybe_unused]] const ScanOptions& options,
                                         [[maybe_unused]] Findings& findings) {
  throw NotImplemented("read_directory");
}

void merge_into([[maybe_unused]] Findings& whole, [[maybe_unused]] Findings&& part) {
  throw NotImplemented("merge_into");
}

// By value: your make_result may sort and move out of it.
ScanResult make_result(
    [[maybe_unused]] Findings findings,  // NOLINT(performance-unnecessary-value-param)
    [[maybe_unused]] const ScanOptions& options) {
  throw NotImplemented("make_result");
}

}  // namespace kata::scan
