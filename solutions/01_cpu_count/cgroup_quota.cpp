// Reference solution: the CPU quota that cgroups put on this process.
//
// /proc/self/cgroup names the process's cgroup in each hierarchy:
//   cgroup v2:  "0::/user.slice/session-2.scope"
//   cgroup v1:  "4:cpu,cpuacct:/docker/3f2a..."   (hierarchy:controllers:path)
// The quota may be set on any ancestor, and the tightest one wins, so we walk
// from the process's own cgroup up to the root of the mount.
#include "cpu_count.hpp"

#include <algorithm>
#include <charconv>
#include <cstdint>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

namespace kata {

namespace {

namespace fs = std::filesystem;

// A file's whole text, or std::nullopt if it cannot be opened (absent, say:
// a cgroup without the cpu controller has no cpu.max).
std::optional<std::string> read_text(const fs::path& file) {
  std::ifstream in(file);
  if (!in) {
    return std::nullopt;
  }
  std::ostringstream text;
  text << in.rdbuf();
  return text.str();
}

std::string_view trim(std::string_view text) {
  const auto first = text.find_first_not_of(" \t\n");
  if (first == std::string_view::npos) {
    return {};
  }
  const auto last = text.find_last_not_of(" \t\n");
  return text.substr(first, last - first + 1);
}

// The whole token as a positive integer, or std::invalid_argument naming it.
std::int64_t parse_positive(std::string_view token, std::string_view context) {
  std::int64_t value = 0;
  const auto [end, error] = std::from_chars(token.data(), token.data() + token.size(), value);
  if (error != std::errc() || end != token.data() + token.size() || value <= 0) {
    throw std::invalid_argument(std::string(context) + ": expected a positive integer, got \"" +
                                std::string(token) + "\"");
  }
  return value;
}

// v1: cpu.cfs_quota_us is -1 (no limit) or microseconds per cpu.cfs_period_us.
std::optional<double> v1_limit_at(const fs::path& dir) {
  const auto quota_text = read_text(dir / "cpu.cfs_quota_us");
  const auto period_text = read_text(dir / "cpu.cfs_period_us");
  if (!quota_text || !period_text || trim(*quota_text) == "-1") {
    return std::nullopt;
  }
  const auto quota = parse_positive(trim(*quota_text), (dir / "cpu.cfs_quota_us").string());
  const auto period = parse_positive(trim(*period_text), (dir / "cpu.cfs_period_us").string());
  return static_cast<double>(quota) / static_cast<double>(period);
}

std::optional<double> v2_limit_at(const fs::path& dir) {
  const auto text = read_text(dir / "cpu.max");
  return text ? parse_cpu_max(*text) : std::nullopt;
}

// The tightest limit from `mount`/`cgroup` up to `mount` itself.
std::optional<double> tightest_limit(const fs::path& mount, std::string_view cgroup,
                                     std::optional<double> (*limit_at)(const fs::path&)) {
  fs::path dir = (mount / fs::path(cgroup).relative_path()).lexically_normal();
  if (!fs::is_directory(dir)) {
    // In a container without its own cgroup namespace the path names the host's
    // view; the container sees its own cgroup mounted at the root.
    dir = mount;
  }
  std::optional<double> tightest;
  for (;;) {
    if (const auto limit = limit_at(dir); limit && (!tightest || *limit < *tightest)) {
      tightest = limit;
    }
    if (dir == mount || !dir.has_relative_path() || dir == dir.parent_path()) {
      return tightest;
    }
    dir = dir.parent_path();
  }
}

bool lists_cpu_controller(std::string_view controllers) {
  while (!controllers.empty()) {
    const auto comma = controllers.find(',');
    if (controllers.substr(0, comma) == "cpu") {
      return true;
    }
    controllers = comma == std::string_view::npos ? "" : controllers.substr(comma + 1);
  }
  return false;
}

}  // namespace

std::optional<double> parse_cpu_max(std::string_view cpu_max) {
  if (cpu_max.ends_with('\n')) {
    cpu_max.remove_suffix(1);
  }
  const auto space = cpu_max.find(' ');
  if (space == std::string_view::npos) {
    throw std::invalid_argument("cpu.max: expected \"$QUOTA $PERIOD\", got \"" +
                                std::string(cpu_max) + "\"");
  }
  const std::string_view quota = cpu_max.substr(0, space);
  const std::int64_t period = parse_positive(cpu_max.substr(space + 1), "cpu.max period");
  if (quota == "max") {
    return std::nullopt;
  }
  return static_cast<double>(parse_positive(quota, "cpu.max quota")) / static_cast<double>(period);
}

std::optional<double> cgroup_cpu_limit(const fs::path& cgroup_fs_root,
                                       const fs::path& proc_self_cgroup_file) {
  const auto membership = read_text(proc_self_cgroup_file);
  if (!membership) {
    return std::nullopt;
  }
  std::optional<std::string> v2_cgroup;
  std::istringstream lines(*membership);
  for (std::string line; std::getline(lines, line);) {
    // hierarchy-ID:controller-list:cgroup-path (the path itself may hold ':').
    const auto first = line.find(':');
    if (first == std::string::npos) {
      continue;
    }
    const auto second = line.find(':', first + 1);
    if (second == std::string::npos) {
      continue;
    }
    const std::string_view controllers(line.data() + first + 1, second - first - 1);
    const std::string_view cgroup(line.data() + second + 1, line.size() - second - 1);
    if (lists_cpu_controller(controllers)) {
      // The cpu controller is on a v1 hierarchy: that is where its quota lives.
      // Its mount is named after the controller list ("cpu,cpuacct"), with a
      // "cpu" symlink beside it on most distributions.
      fs::path mount = cgroup_fs_root / controllers;
      if (!fs::is_directory(mount)) {
        mount = cgroup_fs_root / "cpu";
      }
      return tightest_limit(mount, cgroup, v1_limit_at);
    }
    if (line.starts_with("0::")) {
      v2_cgroup = cgroup;
    }
  }
  if (v2_cgroup) {
    return tightest_limit(cgroup_fs_root, *v2_cgroup, v2_limit_at);
  }
  return std::nullopt;
}

}  // namespace kata
