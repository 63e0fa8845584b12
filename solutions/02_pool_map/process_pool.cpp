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

// Writes every byte of `parts`, in order, with writev(): a frame's header and its
// payload (or several frames) in one system call, which wakes the reader once
// instead of once per write. Like write_all, it loops over short writes and EINTR.
void write_all_parts(int fd, std::span<iovec> parts) {
  while (!parts.empty()) {
    const ssize_t written = ::writev(fd, parts.data(), static_cast<int>(parts.size()));
    if (written == -1) {
      if (errno == EINTR) {
        continue;
      }
      throw_errno("writev");
    }
    // Skip what went out: whole parts, then the front of a part.
    auto done = static_cast<std::size_t>(written);
    while (!parts.empty() && done >= parts.front().iov_len) {
      done -= parts.front().iov_len;
      parts = parts.subspan(1);
    }
    if (!parts.empty()) {
      parts.front().iov_base = static_cast<std::byte*>(parts.front().iov_base) + done;
      parts.front().iov_len -= done;
    }
  }
}

// One iovec for writev() over bytes that the call only reads.
iovec part(const void* data, std::size_t size) {
  return iovec{const_cast<void*>(data), size};
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

// The most items whose frame fits in one atomic pipe write (PIPE_BUF bytes): the
// chunks a pool sends for any small map.
constexpr std::size_t small_chunk = (PIPE_BUF - sizeof(TaskHeader)) / sizeof(std::int64_t);
static_assert(frame_bytes(small_chunk) <= PIPE_BUF);

// A worker's whole life (Python: multiprocessing.pool.worker): read a chunk, run
// the task on each item, send the results, until end of file on the task pipe
// says the pool is stopping (Python sends a None sentinel instead).
//
// A small chunk runs in a buffer on the worker's stack, not in a std::vector. After
// fork() every page of the parent is shared copy-on-write, and a new worker's first
// malloc() writes to about ten of them (malloc's state, the heap's free lists), each
// write a page fault: on the course's VM that cost more than the rest of the
// notebook's whole map. Only a chunk too big for the stack goes to the heap, where
// the faults are small beside the copying.
int run_worker(int tasks, int results) {
  std::array<std::int64_t, small_chunk> small_values;  // read() fills what is used
  std::vector<std::int64_t> large_values;
  for (;;) {
    TaskHeader header{};
    if (!read_frame_part(tasks, bytes_of(header))) {
      return 0;
    }
    std::span<std::int64_t> values;
    if (header.count <= small_values.size()) {
      values = std::span{small_values}.first(header.count);
    } else {
      large_values.resize(header.count);
      values = large_values;
    }
    read_exact(tasks, std::as_writable_bytes(values));

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
      const ResultHeader answer{header.first, header.count, 0};
      std::array frame{part(&answer, sizeof answer),
                       part(values.data(), values.size() * sizeof(std::int64_t))};
      write_all_parts(results, frame);
    } else {
      const std::string message =
          "the task threw on items[" + std::to_string(header.first + i) + "]: " + *error;
      const ResultHeader answer{header.first, message.size(), 1};
      std::array frame{part(&answer, sizeof answer), part(message.data(), message.size())};
      write_all_parts(results, frame);
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

// How many chunks a worker may hold: the one it runs and the next ones, already
// waiting in its task pipe when it finishes, so that it never sits idle for a
// round trip between two chunks, and a small map reaches each worker in one write.
//
// The full-pipe deadlock needs the parent blocked writing a worker's task pipe
// while that worker is blocked writing its result pipe. An idle worker reads its
// whole chunk before it writes a single result, so one chunk is always safe,
// however big. Several are safe when all their frames together fit in PIPE_BUF
// (4096) bytes: they then take at most two pages of a pipe, and Linux gives every
// pipe at least two (16 by default). So the parent's writes always find room in
// the task pipe, and the parent always gets back to reading the results.
//
// At most four, Python's number of chunks per worker: more would hand a worker
// its whole share up front, and the workers that finish first could no longer
// take chunks from the slow ones.
constexpr std::size_t most_held = 4;

std::size_t most_held_for(std::size_t chunk) {
  return std::clamp<std::size_t>(PIPE_BUF / frame_bytes(chunk), 1, most_held);
}

// a / b rounded up, without the overflow of (a + b - 1) / b.
std::size_t ceil_div(std::size_t a, std::size_t b) {
  return a / b + (a % b != 0 ? 1 : 0);
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

// Hands a worker chunks of `chunk` items from item `next` on, until it holds
// `most` of them or the items run out, all in one writev(): one system call and
// one wake-up for all of them. Returns the first item not handed out, or
// std::nullopt if the worker is dead (the write failed with EPIPE: its task pipe
// has no reader).
std::optional<std::size_t> send_chunks(Worker& worker, Task task,
                                       std::span<const std::int64_t> items, std::size_t next,
                                       std::size_t chunk, std::size_t most) {
  std::array<TaskHeader, most_held> headers{};
  std::array<iovec, 2 * most_held> parts{};
  std::size_t frames = 0;
  for (; next < items.size() && worker.held.size() + frames < most; ++frames) {
    const std::size_t count = std::min(chunk, items.size() - next);
    headers[frames] = TaskHeader{task, next, count};
    parts[2 * frames] = part(&headers[frames], sizeof(TaskHeader));
    parts[2 * frames + 1] = part(&items[next], count * sizeof(std::int64_t));
    next += count;
  }
  try {
    write_all_parts(worker.tasks.get(), std::span{parts}.first(2 * frames));
  } catch (const std::system_error& error) {
    if (error.code() != std::errc::broken_pipe) {
      throw;
    }
    return std::nullopt;
  }
  for (std::size_t i = 0; i < frames; ++i) {
    worker.held.push_back(Chunk{headers[i].first, headers[i].count});
  }
  return next;
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
  std::vector<pollfd> hangups;
  std::vector<ChildProcess*> leaving;
  for (Worker& worker : state_->workers) {
    worker.tasks.reset();
    if (worker.process.valid()) {
      // A worker that exits closes its result pipe: poll() reports POLLHUP there
      // (it always does; events = 0 asks for nothing more), as in map().
      hangups.push_back(pollfd{.fd = worker.results.get(), .events = 0, .revents = 0});
      leaving.push_back(&worker.process);
    }
  }
  // Then reap them in one pass: each poll() sleeps until some are gone, and those
  // are reaped at once. A worker that has not left after a grace period (say a
  // process forked by a task still holds its pipes) is killed by its ChildProcess
  // when the state is destroyed: a destructor must not hang.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  try {
    while (!hangups.empty()) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left <= 0ms) {
        break;
      }
      if (::poll(hangups.data(), hangups.size(), static_cast<int>(left.count())) == -1) {
        if (errno == EINTR) {
          continue;
        }
        throw_errno("poll");
      }
      for (std::size_t i = hangups.size(); i-- > 0;) {
        if (hangups[i].revents != 0) {
          leaving[i]->wait();  // it is exiting: this waitpid() returns at once
          hangups.erase(hangups.begin() + static_cast<std::ptrdiff_t>(i));
          leaving.erase(leaving.begin() + static_cast<std::ptrdiff_t>(i));
        }
      }
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
  const std::size_t most = most_held_for(std::min(chunk, items.size()));  // no overflow in bytes
  const auto fail = [&failure](std::optional<std::string> what) {
    if (what && !failure) {
      failure = std::move(what);
    }
  };

  std::vector<pollfd> fds;
  std::vector<Worker*> polled;
  for (;;) {
    // Top up every worker that holds fewer chunks than it may, sharing out what is
    // left evenly: 2 chunks and 8 workers make two busy workers, not one with both.
    const std::size_t share = ceil_div(ceil_div(items.size() - next, chunk), workers.size());
    for (Worker& worker : workers) {
      if (failure || next == items.size()) {
        break;
      }
      const std::size_t limit = std::min(most, worker.held.size() + share);
      if (worker.held.size() >= limit) {
        continue;
      }
      const std::size_t held_before = worker.held.size();
      if (const auto sent_up_to = send_chunks(worker, task, items, next, chunk, limit)) {
        next = *sent_up_to;
        out += worker.held.size() - held_before;
      } else {
        out -= held_before;  // they died with it
        fail(replace_dead_worker(worker));
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
