// Reference solution: a process pool from fork, pipes, poll and waitpid.
//
// Each worker owns two pipes: the parent writes chunks of items into its task pipe
// and reads the results back from its result pipe. A worker holds at most one chunk;
// the parent poll()s the result pipes and gives the next chunk to whichever worker
// answers first, so fast workers take more chunks than slow ones.
#include "pool_map.hpp"

#include <kata/child.hpp>
#include <kata/cpus.hpp>
#include <kata/errors.hpp>
#include <kata/fd.hpp>
#include <kata/io.hpp>

#include <poll.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
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
      write_value(results, ResultHeader{header.first, header.count, 0});
      write_all(results, std::as_bytes(std::span{values}));
    } else {
      const std::string message =
          "the task threw on items[" + std::to_string(header.first + i) + "]: " + *error;
      write_value(results, ResultHeader{header.first, message.size(), 1});
      write_all(results, std::as_bytes(std::span{message}));
    }
  }
}

// ---- The parent's side of one worker ----------------------------------------------

struct Worker {
  ChildProcess process;
  UniqueFd tasks;    // write end of the worker's task pipe
  UniqueFd results;  // read end of the worker's result pipe
  // The chunk it is running, items [first, first + count); count is 0 when idle.
  std::size_t first = 0;
  std::size_t count = 0;
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
  return Worker{std::move(process), std::move(tasks.write_end), std::move(results.read_end)};
}

// Reaps a worker whose pipe closed, puts a new worker in its place (Python's worker
// handler does this too) and says what happened, for the map's WorkerError.
std::string replace_dead_worker(Worker& worker) {
  std::string what = "worker " + std::to_string(worker.process.pid());
  // Its pipe closed, so it is dead or dying; SIGKILL makes sure we never wait long.
  what += " " + worker.process.kill_and_wait().describe();
  if (worker.count > 0) {
    what += " while running items [" + std::to_string(worker.first) + ", " +
            std::to_string(worker.first + worker.count) + ")";
  }
  worker = start_worker();
  return what;
}

// Hands items [first, first + chunk.size()) to an idle worker; false if the worker
// is dead (the write failed with EPIPE). A blocking write is safe here however big
// the chunk: an idle worker does nothing but read its task pipe, and it reads the
// whole chunk before it writes a single result.
bool send_chunk(Worker& worker, Task task, std::size_t first, std::span<const std::int64_t> chunk) {
  worker.first = first;
  worker.count = chunk.size();
  try {
    write_value(worker.tasks.get(), TaskHeader{task, first, chunk.size()});
    write_all(worker.tasks.get(), std::as_bytes(chunk));
    return true;
  } catch (const std::system_error& error) {
    if (error.code() != std::errc::broken_pipe) {
      throw;
    }
    worker.count = 0;  // it never got the chunk: it died before
    return false;
  }
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
  if (header.first != worker.first || (header.failed == 0 && header.count != worker.count)) {
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
  worker.count = 0;
  return error;
}

// Python's Pool.map: chunksize, extra = divmod(len(iterable), len(pool) * 4),
// plus one if there is a remainder. Four chunks per worker balance the load
// without paying for a message per item.
std::size_t auto_chunk(std::size_t items, std::size_t workers) {
  const std::size_t chunks = 4 * workers;
  return std::max<std::size_t>(1, (items + chunks - 1) / chunks);
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
  // each ChildProcess kills and reaps the workers already started.
  state_->workers.resize(workers == 0 ? default_worker_count() : workers);
  for (Worker& worker : state_->workers) {
    worker = start_worker();
  }
}

ProcessPool::~ProcessPool() {
  using namespace std::chrono_literals;
  // End of file on its task pipe tells a worker to leave. Close them all first, so
  // the workers exit side by side, then reap them.
  for (Worker& worker : state_->workers) {
    worker.tasks.reset();
  }
  // Idle workers leave at once. One that does not (say a process forked by someone
  // else still holds its task pipe) is killed after a grace period: a destructor
  // must not hang.
  const auto deadline = std::chrono::steady_clock::now() + 2s;
  for (Worker& worker : state_->workers) {
    if (!worker.process.valid()) {
      continue;
    }
    try {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (!worker.process.wait_for(std::max(left, 0ms))) {
        worker.process.kill_and_wait();
      }
    } catch (...) {
      // A destructor has no one to report to; the ChildProcess still kills and
      // reaps its worker when it is destroyed.
    }
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
    chunk = auto_chunk(items.size(), state_->workers.size());
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
      if (worker.count > 0) {
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
  std::size_t running = 0;             // workers holding a chunk
  std::optional<std::string> failure;  // the first one; no chunk is handed out after it
  const auto fail = [&failure](std::optional<std::string> what) {
    if (what && !failure) {
      failure = std::move(what);
    }
  };

  std::vector<pollfd> fds;
  std::vector<Worker*> polled;
  for (;;) {
    // Give a chunk to every idle worker. Never more than one per worker: a worker
    // whose result pipe is full stops reading, and a parent blocked writing more
    // chunks into its full task pipe would never read those results (deadlock).
    for (Worker& worker : workers) {
      if (failure || next == items.size()) {
        break;
      }
      if (worker.count > 0) {
        continue;
      }
      const std::size_t count = std::min(chunk, items.size() - next);
      if (send_chunk(worker, task, next, items.subspan(next, count))) {
        next += count;
        ++running;
      } else {
        fail(replace_dead_worker(worker));
      }
    }
    // After a failure, the chunks still out are collected all the same: their
    // results must not be read by the next map as if they were its own.
    if (running == 0) {
      break;
    }

    fds.clear();
    polled.clear();
    for (Worker& worker : workers) {
      if (worker.count > 0) {
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
        fail(receive_chunk(*polled[i], results));
        --running;
      }
    }
  }
  if (failure) {
    throw WorkerError("ProcessPool::map: " + *failure);
  }
  return results;
}

}  // namespace kata
