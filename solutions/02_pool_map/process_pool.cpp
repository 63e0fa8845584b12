// Reference solution: a process pool from fork, pipes, poll and waitpid.
//
// Each worker owns two pipes: the parent writes chunks of items into its task pipe
// and reads the results back from its result pipe. A worker holds at most two
// chunks: the one it runs, and the next one waiting in its pipe, so that it never
// sits idle for a round trip between them. The parent poll()s the result pipes and
// gives the next chunk to whichever worker answers first, so fast workers take
// more chunks than slow ones.
#include "pool_map.hpp"

#include <kata/child.hpp>
#include <kata/chunking.hpp>
#include <kata/cpus.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>

#include <poll.h>
#include <sys/uio.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <chrono>
#include <climits>
#include <exception>
#include <optional>
#include <stdexcept>
#include <string>
#include <system_error>
#include <utility>

namespace kata {

namespace {

// ---- What travels through the pipes -------------------------------------------
// Both ends are forks of one program on one machine: plain structs in native byte
// order will do, and the function pointer means the same function in the worker
// because fork() copied the whole address space, code included.

// Parent -> worker: run `task` on the `count` values that follow, which are the
// map's items [first, first + count).
struct TaskHeader {
  Task task;
  std::uint64_t first;
  std::uint64_t count;
};

// Worker -> parent: the `count` results for items [first, first + count) follow;
// or, when `failed` is 1, the task's error message follows, in `count` bytes.
struct ResultHeader {
  std::uint64_t first;
  std::uint64_t count;
  std::uint64_t failed;
};

template <class T>
std::span<std::byte> bytes_of(T& value) {
  return std::as_writable_bytes(std::span{&value, 1});
}

// Fills `buffer`, or returns false if the writer's end closed first, even in the
// middle: half a frame from a worker that died is as useless as none.
bool read_frame_part(int fd, std::span<std::byte> buffer) {
  while (!buffer.empty()) {
    const std::size_t n = read_some(fd, buffer);
    if (n == 0) {
      return false;
    }
    buffer = buffer.subspan(n);
  }
  return true;
}

// Writes a header and its payload with one writev(): one system call per frame
// instead of two. Like write_all, it loops over short writes and EINTR.
template <class Header>
void write_frame(int fd, const Header& header, std::span<const std::byte> payload) {
  std::array<iovec, 2> parts{{
      {const_cast<Header*>(&header), sizeof header},
      {const_cast<std::byte*>(payload.data()), payload.size()},
  }};
  std::span<iovec> left(parts);
  while (!left.empty()) {
    const ssize_t written = ::writev(fd, left.data(), static_cast<int>(left.size()));
    if (written == -1) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("writev");
    }
    // Skip what went out: whole parts, then the front of a part.
    auto done = static_cast<std::size_t>(written);
    while (!left.empty() && done >= left.front().iov_len) {
      done -= left.front().iov_len;
      left = left.subspan(1);
    }
    if (!left.empty()) {
      left.front().iov_base = static_cast<std::byte*>(left.front().iov_base) + done;
      left.front().iov_len -= done;
    }
  }
}

// The bytes of a frame carrying `count` values, either way (both headers are 24 bytes).
constexpr std::size_t frame_bytes(std::size_t count) {
  return sizeof(TaskHeader) + count * sizeof(std::int64_t);
}
static_assert(sizeof(TaskHeader) == sizeof(ResultHeader));

// ---- The worker ---------------------------------------------------------------

// A worker must hold no pipe but its own two. fork() copies every fd of the parent:
// the parent's ends of the other workers' pipes, and those of any other pool alive.
// A worker holding another worker's task pipe open keeps that worker from ever
// seeing end of file, so it never stops. O_CLOEXEC does not help: it acts at
// exec(), and a worker never execs. So: close everything but 0, 1, 2 and ours.
void close_fds_except(int first_kept, int second_kept) {
  const auto [low, high] = std::minmax(first_kept, second_kept);
  unsigned next = 3;
  for (const int kept : {low, high}) {
    const auto fd = static_cast<unsigned>(kept);
    if (fd > next && ::close_range(next, fd - 1, 0) == -1) {
      throw_errno("close_range");
    }
    next = std::max(next, fd + 1);
  }
  if (::close_range(next, ~0U, 0) == -1) {
    throw_errno("close_range");
  }
}

// A worker's whole life (Python: multiprocessing.pool.worker): read a chunk, run
// the task on each item, send the results, until end of file on the task pipe
// says the pool is stopping (Python sends a None sentinel instead).
int run_worker(int tasks, int results) {
  std::vector<std::int64_t> values;
  for (;;) {
    TaskHeader header{};
    if (!read_frame_part(tasks, bytes_of(header))) {
      return 0;
    }
    values.resize(header.count);
    read_exact(tasks, std::as_writable_bytes(std::span{values}));

    // A task's exception must not kill the worker: it becomes an error frame.
    std::optional<std::string> error;
    std::size_t i = 0;
    try {
      for (; i < values.size(); ++i) {
        values[i] = header.task(values[i]);
      }
    } catch (const std::exception& thrown) {
      error = thrown.what();
    } catch (...) {
      error = "an exception that is not a std::exception";
    }

    if (!error) {
      write_frame(results, ResultHeader{header.first, header.count, 0},
                  std::as_bytes(std::span{values}));
    } else {
      const std::string message =
          "the task threw on items[" + std::to_string(header.first + i) + "]: " + *error;
      write_frame(results, ResultHeader{header.first, message.size(), 1},
                  std::as_bytes(std::span{message}));
    }
  }
}

// ---- The parent's side of one worker ----------------------------------------------

// Items [first, first + count) of the map.
struct Chunk {
  std::size_t first = 0;
  std::size_t count = 0;
};

struct Worker {
  ChildProcess process;
  UniqueFd tasks;    // write end of the worker's task pipe
  UniqueFd results;  // read end of the worker's result pipe
  // The chunks it holds, oldest first: it answers them in the order it got them.
  // Empty when idle; the first one is the one it runs.
  std::vector<Chunk> held;
};

Worker start_worker() {
  Pipe tasks = make_pipe();
  Pipe results = make_pipe();
  ChildProcess process = fork_child([&] {
    close_fds_except(tasks.read_end.get(), results.write_end.get());
    return run_worker(tasks.read_end.get(), results.write_end.get());
  });
  // The worker's ends close here in the parent, when `tasks` and `results` go out
  // of scope. They must: while the parent holds the write end of a result pipe,
  // reading it never gives end of file, and a dead worker would go unnoticed.
  return Worker{std::move(process), std::move(tasks.write_end), std::move(results.read_end), {}};
}

// How many chunks a worker may hold, and the largest frame of a chunk that waits
// behind another one.
//
// The full-pipe deadlock needs the parent blocked writing a worker's task pipe
// while that worker is blocked writing its result pipe. An idle worker reads its
// whole chunk before it writes a single result, so the first chunk's write always
// completes, however big. A second chunk goes out only if both chunks' frames fit
// in PIPE_BUF (4096) bytes, one page: two frames then take at most two pages of a
// pipe, and Linux gives every pipe at least two (16 by default). So the parent's
// write of the second chunk always finds room, and so do the worker's two results:
// neither side ever waits for the other.
constexpr std::size_t most_held = 2;
constexpr std::size_t small_frame = PIPE_BUF;

bool can_take(const Worker& worker, std::size_t count) {
  if (worker.held.empty()) {
    return true;
  }
  return worker.held.size() < most_held && frame_bytes(worker.held.front().count) <= small_frame &&
         frame_bytes(count) <= small_frame;
}

// Reaps a worker whose pipe closed, puts a new worker in its place (Python's worker
// handler does this too) and says what happened, for the map's WorkerError.
std::string replace_dead_worker(Worker& worker) {
  std::string what = "worker " + std::to_string(worker.process.pid());
  // Its pipe closed, so it is dead or dying; SIGKILL makes sure we never wait long.
  what += " " + worker.process.kill_and_wait().describe();
  if (!worker.held.empty()) {
    const Chunk& running = worker.held.front();
    what += " while running items [" + std::to_string(running.first) + ", " +
            std::to_string(running.first + running.count) + ")";
  }
  worker = start_worker();
  return what;
}

// Hands items [first, first + chunk.size()) to a worker that can take them; false if
// the worker is dead (the write failed with EPIPE: its task pipe has no reader).
bool send_chunk(Worker& worker, Task task, std::size_t first, std::span<const std::int64_t> chunk) {
  try {
    write_frame(worker.tasks.get(), TaskHeader{task, first, chunk.size()}, std::as_bytes(chunk));
  } catch (const std::system_error& error) {
    if (error.code() != std::errc::broken_pipe) {
      throw;
    }
    return false;
  }
  worker.held.push_back(Chunk{first, chunk.size()});
  return true;
}

// Reads the answer of a worker whose result pipe is readable, and stores its results
// in place (order is kept by position, not by arrival). Returns what went wrong, if
// anything: the task's error, or the worker's death.
std::optional<std::string> receive_chunk(Worker& worker, std::vector<std::int64_t>& results) {
  const int fd = worker.results.get();
  ResultHeader header{};
  if (!read_frame_part(fd, bytes_of(header))) {
    return replace_dead_worker(worker);
  }
  const Chunk expected = worker.held.front();
  if (header.first != expected.first || (header.failed == 0 && header.count != expected.count)) {
    throw std::runtime_error("ProcessPool::map: worker " + std::to_string(worker.process.pid()) +
                             " answered for items it was not given");
  }
  std::optional<std::string> error;
  if (header.failed == 0) {
    if (!read_frame_part(
            fd, std::as_writable_bytes(std::span{results}.subspan(header.first, header.count)))) {
      return replace_dead_worker(worker);
    }
  } else {
    std::string message(header.count, '\0');
    if (!read_frame_part(fd, std::as_writable_bytes(std::span{message}))) {
      return replace_dead_worker(worker);
    }
    error = std::move(message);
  }
  worker.held.erase(worker.held.begin());
  return error;
}

}  // namespace

struct ProcessPool::State {
  // A slot whose process is not valid() lost its worker to a failure that could
  // not start a successor (fork failed); the next map starts one.
  std::vector<Worker> workers;

  std::vector<std::int64_t> map(Task task, std::span<const std::int64_t> items, std::size_t chunk);
};

ProcessPool::ProcessPool(unsigned workers) : state_(std::make_unique<State>()) {
  // If a fork fails half way, state_ is destroyed as this constructor throws, and
  // each ChildProcess kills and reaps the workers already started. No worker is
  // waited for here: a worker is ready when it blocks in read(), and a chunk
  // written before that simply waits in its pipe.
  state_->workers.resize(workers == 0 ? default_worker_count() : workers);
  for (Worker& worker : state_->workers) {
    worker = start_worker();
  }
}

ProcessPool::~ProcessPool() {
  using namespace std::chrono_literals;
  // End of file on its task pipe tells a worker to leave. Close them all first, so
  // the workers exit side by side.
  std::vector<pollfd> leaving;
  for (Worker& worker : state_->workers) {
    worker.tasks.reset();
    if (worker.process.valid()) {
      // events = 0: poll() reports POLLHUP whatever we ask for, and a hang-up on
      // its result pipe is all we wait for: the worker closed it by exiting.
      leaving.push_back(pollfd{.fd = worker.results.get(), .events = 0, .revents = 0});
    }
  }
  // Then reap them in one pass: one poll() sleeps until some of them are gone, and
  // each of those is reaped at once. A worker that has not left after a grace
  // period (say a process forked by a task still holds its pipes) is killed by its
  // ChildProcess below: a destructor must not hang.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  try {
    while (!leaving.empty()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) {
        break;
      }
      const int ready = ::poll(leaving.data(), leaving.size(), static_cast<int>(left.count()));
      if (ready == -1 && errno != EINTR) {
        throw_errno("poll");
      }
      std::erase_if(leaving, [this](const pollfd& entry) {
        if (entry.revents == 0) {
          return false;
        }
        for (Worker& worker : state_->workers) {
          if (worker.results.get() == entry.fd) {
            worker.process.wait();
          }
        }
        return true;
      });
    }
  } catch (...) {
    // A destructor has no one to report to; each ChildProcess still kills and
    // reaps its worker when it is destroyed.
  }
}

unsigned ProcessPool::size() const {
  return static_cast<unsigned>(state_->workers.size());
}

std::vector<pid_t> ProcessPool::worker_pids() const {
  std::vector<pid_t> pids;
  for (const Worker& worker : state_->workers) {
    if (worker.process.valid()) {
      pids.push_back(worker.process.pid());
    }
  }
  return pids;
}

std::vector<std::int64_t> ProcessPool::map(Task task, std::span<const std::int64_t> items,
                                           std::size_t chunk) {
  if (task == nullptr) {
    throw std::invalid_argument("ProcessPool::map: the task is a null function pointer");
  }
  if (chunk == 0) {
    chunk = pool_chunk_size(items.size(), state_->workers.size());
  }
  // A worker that died since the last map (killed by someone, say) lost no work:
  // reap it and start another, as Python's worker handler does. A slot emptied by a
  // failure gets its worker back here too.
  for (Worker& worker : state_->workers) {
    if (!worker.process.valid() || worker.process.try_wait()) {
      worker = start_worker();
    }
  }
  // A write to a worker that died fails with EPIPE instead of killing this process.
  const SigpipeGuard sigpipe_guard;
  try {
    return state_->map(task, items, chunk);
  } catch (...) {
    // A WorkerError leaves every worker idle. Anything else (poll or fork failed, a
    // broken frame) may leave workers holding chunks, whose stale results the next
    // map would read as its own: stop those workers; the next map starts new ones.
    for (Worker& worker : state_->workers) {
      if (!worker.held.empty()) {
        worker = Worker{};
      }
    }
    throw;
  }
}

std::vector<std::int64_t> ProcessPool::State::map(Task task, std::span<const std::int64_t> items,
                                                  std::size_t chunk) {
  std::vector<std::int64_t> results(items.size());
  std::size_t next = 0;                // the first item not handed out yet
  std::size_t out = 0;                 // chunks held by the workers
  std::optional<std::string> failure;  // the first one; no chunk is handed out after it
  const auto fail = [&failure](std::optional<std::string> what) {
    if (what && !failure) {
      failure = std::move(what);
    }
  };

  std::vector<pollfd> fds;
  std::vector<Worker*> polled;
  for (;;) {
    // Hand out chunks: first one to every idle worker, then a second one to each
    // worker that can take it, so that every worker has work before any has two.
    for (std::size_t depth = 1; depth <= most_held; ++depth) {
      for (Worker& worker : workers) {
        if (failure || next == items.size()) {
          break;
        }
        const std::size_t count = std::min(chunk, items.size() - next);
        if (worker.held.size() >= depth || !can_take(worker, count)) {
          continue;
        }
        if (send_chunk(worker, task, next, items.subspan(next, count))) {
          next += count;
          ++out;
        } else {
          out -= worker.held.size();  // they died with it
          fail(replace_dead_worker(worker));
        }
      }
    }
    // After a failure, the chunks still out are collected all the same: their
    // results must not be read by the next map as if they were its own.
    if (out == 0) {
      break;
    }

    fds.clear();
    polled.clear();
    for (Worker& worker : workers) {
      if (!worker.held.empty()) {
        fds.push_back(pollfd{.fd = worker.results.get(), .events = POLLIN, .revents = 0});
        polled.push_back(&worker);
      }
    }
    // Readable means a frame or end of file (POLLHUP: the worker died); poll()
    // reports both, and reading tells which.
    if (::poll(fds.data(), fds.size(), -1) == -1) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("poll");
    }
    for (std::size_t i = 0; i < fds.size(); ++i) {
      if (fds[i].revents != 0) {
        Worker& worker = *polled[i];
        const std::size_t held_before = worker.held.size();
        fail(receive_chunk(worker, results));
        out -= held_before - worker.held.size();  // one answered, or all lost with their worker
      }
    }
  }
  if (failure) {
    throw WorkerError("ProcessPool::map: " + *failure);
  }
  return results;
}

}  // namespace kata
