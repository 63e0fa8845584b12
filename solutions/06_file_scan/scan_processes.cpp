// The notebook's design: a pool of processes, one top-level directory per task.
// This process lists each root; the roots' immediate subdirectories are the tasks;
// each worker takes the next task from a counter in shared memory, walks that
// whole subtree, and sends every path back through its own pipe. A path is any
// bytes but NUL (newlines and non-UTF-8 included), so each one travels as a frame
// that says its length: never split on '\n'.
#include "directory_walk.hpp"
#include "file_scan.hpp"

#include <kata/child.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>
#include <kata/shared_memory.hpp>

#include <poll.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kata {

namespace {

enum class FrameKind : std::uint32_t { file = 1, error = 2 };

// What precedes each path on the pipe. Both ends are this program on this
// machine, so the header travels as raw bytes in native byte order.
struct FrameHeader {
  FrameKind kind;
  std::uint32_t size;  // bytes of path that follow
  std::uint64_t dev;   // the directory holding the file (follow_symlinks only)
  std::uint64_t ino;
};

// No path is this long (PATH_MAX is 4096, and a walk's paths are not much longer):
// a larger size means the stream is corrupt, not a path to allocate for.
constexpr std::uint32_t max_frame_size = 1U << 20;

void append_frame(std::string& out, FrameKind kind, std::string_view path,
                  scan::DirectoryId directory) {
  const FrameHeader header{kind, static_cast<std::uint32_t>(path.size()), directory.dev,
                           directory.ino};
  out.append(reinterpret_cast<const char*>(&header), sizeof header);
  out.append(path);
}

// The index of the next task, in memory that fork() shares instead of copying,
// so every worker takes a different one: Pool.map handing out work as workers
// come free. A lock-free atomic works across processes.
class SharedCounter {
 public:
  std::size_t take() { return counter_->fetch_add(1, std::memory_order_relaxed); }

 private:
  using Counter = std::atomic<std::size_t>;
  static_assert(Counter::is_always_lock_free, "a lock in shared memory would need care");
  Shared<Counter> counter_{0};  // common/: in a shared anonymous mapping
};

struct ScanTask {
  std::size_t top;  // index into the open roots
  scan::Subdirectory subdirectory;
};

// A worker's life: take tasks until none is left, walk each subtree, send its findings.
int run_worker(const std::vector<scan::OpenDirectory>& tops, const std::vector<ScanTask>& tasks,
               SharedCounter& next, const ScanOptions& options, int out) {
  const SigpipeGuard no_sigpipe;  // a dead parent gives EPIPE here, not a silent death
  std::string frames;
  for (std::size_t i = next.take(); i < tasks.size(); i = next.take()) {
    scan::Findings findings;
    if (auto directory =
            scan::open_subdirectory(tops[tasks[i].top], tasks[i].subdirectory, options, findings)) {
      scan::walk_tree(*directory, options, findings);
    }
    frames.clear();
    for (const scan::FoundFile& file : findings.files) {
      append_frame(frames, FrameKind::file, file.path, file.directory);
    }
    for (const std::string& error : findings.errors) {
      append_frame(frames, FrameKind::error, error, {});
    }
    write_all(out, std::as_bytes(std::span{frames}));
  }
  return 0;
}

// The parent's side of one worker: its process, its pipe, and the bytes of a
// frame that has not fully arrived yet.
struct Worker {
  ChildProcess process;
  UniqueFd from;
  std::string pending;
};

// Moves every complete frame out of `pending` into `findings`.
void take_frames(Worker& worker, scan::Findings& findings) {
  std::size_t used = 0;
  while (worker.pending.size() - used >= sizeof(FrameHeader)) {
    FrameHeader header{};
    std::memcpy(&header, worker.pending.data() + used, sizeof header);
    if (header.size > max_frame_size ||
        (header.kind != FrameKind::file && header.kind != FrameKind::error)) {
      throw WorkerError("scan worker " + std::to_string(worker.process.pid()) +
                        " sent a corrupt frame");
    }
    if (worker.pending.size() - used - sizeof header < header.size) {
      break;  // the rest of this frame is still in the pipe
    }
    std::string path(worker.pending, used + sizeof header, header.size);
    used += sizeof header + header.size;
    if (header.kind == FrameKind::file) {
      findings.files.push_back({std::move(path), {header.dev, header.ino}});
    } else {
      findings.errors.push_back(std::move(path));
    }
  }
  worker.pending.erase(0, used);
}

// Reads every worker's pipe until each one ends. All pipes at once, with poll():
// reading them one after the other would leave a worker blocked on a full pipe
// while we wait for another.
void collect(std::vector<Worker>& workers, scan::Findings& findings) {
  std::vector<Worker*> open;
  open.reserve(workers.size());
  for (Worker& worker : workers) {
    open.push_back(&worker);
  }
  std::array<std::byte, 65536> buffer{};
  while (!open.empty()) {
    std::vector<pollfd> fds;
    fds.reserve(open.size());
    for (const Worker* worker : open) {
      fds.push_back({worker->from.get(), POLLIN, 0});
    }
    if (::poll(fds.data(), fds.size(), -1) == -1) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("poll the scan workers' pipes");
    }
    std::vector<Worker*> still_open;
    for (std::size_t i = 0; i < open.size(); ++i) {
      Worker& worker = *open[i];
      if (fds[i].revents == 0) {
        still_open.push_back(&worker);
        continue;
      }
      // POLLIN or POLLHUP: read() will not block; 0 bytes means every writer is gone.
      const std::size_t n = read_some(worker.from.get(), buffer);
      if (n == 0) {
        if (!worker.pending.empty()) {
          throw WorkerError("scan worker " + std::to_string(worker.process.pid()) +
                            " ended in the middle of a frame");
        }
        worker.from.reset();
        continue;
      }
      worker.pending.append(reinterpret_cast<const char*>(buffer.data()), n);
      take_frames(worker, findings);
      still_open.push_back(&worker);
    }
    open = std::move(still_open);
  }
}

}  // namespace

ScanResult scan_processes(std::span<const std::filesystem::path> roots, const ScanOptions& options,
                          unsigned workers) {
  if (workers == 0) {
    throw std::invalid_argument("scan_processes: workers must be at least 1");
  }
  scan::check_options(options);

  // The top level, here: files directly in a root are matched by this process,
  // and each subdirectory becomes one task. The roots stay open: every worker
  // opens its task's directory relative to them.
  scan::Findings findings;
  std::vector<scan::OpenDirectory> tops;
  std::vector<ScanTask> tasks;
  for (const std::filesystem::path& root : roots) {
    if (auto top = scan::open_root(root, options, findings)) {
      for (scan::Subdirectory& subdirectory : scan::read_directory(*top, options, findings)) {
        tasks.push_back({tops.size(), std::move(subdirectory)});
      }
      tops.push_back(std::move(*top));
    }
  }

  // Never more workers than tasks: an idle process costs a fork for nothing.
  const std::size_t count = std::min<std::size_t>(workers, tasks.size());
  SharedCounter next;
  std::vector<Worker> pool;
  pool.reserve(count);
  for (std::size_t w = 0; w < count; ++w) {
    Pipe pipe = make_pipe();
    ChildProcess child = fork_child([&] {
      pipe.read_end.reset();
      return run_worker(tops, tasks, next, options, pipe.write_end.get());
    });
    // Only the worker may hold the write end: our copy would keep EOF from ever coming.
    pipe.write_end.reset();
    pool.push_back({std::move(child), std::move(pipe.read_end), {}});
  }

  collect(pool, findings);
  for (Worker& worker : pool) {
    const pid_t pid = worker.process.pid();
    if (const ExitStatus status = worker.process.wait(); !status.success()) {
      throw WorkerError("scan worker " + std::to_string(pid) + " " + status.describe());
    }
  }
  return scan::make_result(std::move(findings), options);
}

}  // namespace kata
