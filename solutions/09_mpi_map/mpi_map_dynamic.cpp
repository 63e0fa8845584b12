// Reference solution, exercise 09: the dynamic map, a dealer and its workers.
//
// When items cost different amounts, equal blocks finish at different times and
// the map waits for the slowest. Here the root deals small chunks to whichever
// worker asks next, as Pool.map's workers take chunks from a shared queue: the
// queue is the root, and "take" is a message to it.
#include "mpi_map.hpp"

#include <algorithm>
#include <limits>

namespace kata {

namespace {

constexpr int kRoot = 0;

// What a message means. Every message a worker sends gets exactly one answer.
constexpr int kWorkTag = 1;    // root -> worker: a chunk of items to map
constexpr int kResultTag = 2;  // worker -> root: its last chunk's results (none the first
                               // time), and a request for more
constexpr int kFailedTag = 3;  // worker -> root: a task failed; the worker keeps the message
constexpr int kStopTag = 4;    // root -> worker: no more work, leave the loop

// Python's heuristic for Pool.map: about four chunks per worker, so that a
// worker that drew slow items still leaves the others something to take.
std::size_t chunk_size(std::size_t n, int workers) {
  const std::size_t per_round = 4 * static_cast<std::size_t>(workers);
  const std::size_t chunk = std::max<std::size_t>(1, (n + per_round - 1) / per_round);
  return std::min<std::size_t>(chunk, std::numeric_limits<int>::max());
}

// The root's loop: answer every message until each worker has been told to stop.
// It maps nothing itself: a worker that asks must get its next chunk at once,
// not when the root is done with a task of its own.
void deal(std::span<const std::int64_t> items, std::span<std::int64_t> results,
          const PrivateComm& own) {
  const int workers = own.size() - 1;
  const std::size_t chunk = chunk_size(items.size(), workers);
  // The chunk each worker holds, so that its results go straight into place.
  std::vector<std::size_t> begin_of(static_cast<std::size_t>(own.size()), 0);
  std::vector<int> count_of(static_cast<std::size_t>(own.size()), 0);
  std::size_t next = 0;
  bool failed = false;

  for (int running = workers; running > 0;) {
    MPI_Status status;
    check_mpi(MPI_Probe(MPI_ANY_SOURCE, MPI_ANY_TAG, own.get(), &status),
              "MPI_Probe for a worker's message");
    const int worker = status.MPI_SOURCE;
    const auto w = static_cast<std::size_t>(worker);
    if (status.MPI_TAG == kResultTag) {
      check_mpi(MPI_Recv(results.data() + begin_of[w], count_of[w], MPI_INT64_T, worker, kResultTag,
                         own.get(), MPI_STATUS_IGNORE),
                "MPI_Recv of a worker's results");
    } else {
      check_mpi(MPI_Recv(nullptr, 0, MPI_INT64_T, worker, kFailedTag, own.get(), MPI_STATUS_IGNORE),
                "MPI_Recv of a worker's failure");
      failed = true;  // the results are lost anyway: deal no more work
    }

    if (failed || next == items.size()) {
      check_mpi(MPI_Send(nullptr, 0, MPI_INT64_T, worker, kStopTag, own.get()),
                "MPI_Send of stop to a worker");
      --running;
      continue;
    }
    const std::size_t count = std::min(chunk, items.size() - next);
    begin_of[w] = next;
    count_of[w] = static_cast<int>(count);
    check_mpi(MPI_Send(items.data() + next, count_of[w], MPI_INT64_T, worker, kWorkTag, own.get()),
              "MPI_Send of a chunk to a worker");
    next += count;
  }
}

// A worker's loop: ask, map, send back, until told to stop. Returns what went
// wrong in its tasks ("" if nothing did).
std::string work(Task task, const PrivateComm& own) {
  std::string error;
  std::vector<std::int64_t> chunk;
  check_mpi(MPI_Send(nullptr, 0, MPI_INT64_T, kRoot, kResultTag, own.get()),
            "MPI_Send of a request for work");
  for (;;) {
    // A chunk's size is known only when it arrives: probe first, then size the buffer.
    MPI_Status status;
    check_mpi(MPI_Probe(kRoot, MPI_ANY_TAG, own.get(), &status), "MPI_Probe for the root's answer");
    int count = 0;
    check_mpi(MPI_Get_count(&status, MPI_INT64_T, &count), "MPI_Get_count of a chunk");
    chunk.resize(static_cast<std::size_t>(count));
    check_mpi(MPI_Recv(chunk.data(), count, MPI_INT64_T, kRoot, status.MPI_TAG, own.get(),
                       MPI_STATUS_IGNORE),
              "MPI_Recv of the root's answer");
    if (status.MPI_TAG == kStopTag) {
      return error;
    }

    error = map_in_place(task, chunk);
    if (error.empty()) {
      check_mpi(MPI_Send(chunk.data(), count, MPI_INT64_T, kRoot, kResultTag, own.get()),
                "MPI_Send of a chunk's results");
    } else {
      check_mpi(MPI_Send(nullptr, 0, MPI_INT64_T, kRoot, kFailedTag, own.get()),
                "MPI_Send of a failure");
    }
  }
}

}  // namespace

std::vector<std::int64_t> mpi_map_dynamic(Task task, std::span<const std::int64_t> items,
                                          MPI_Comm comm) {
  if (task == nullptr) {
    throw std::invalid_argument("mpi_map_dynamic: the task is a null function pointer");
  }
  const PrivateComm own(comm);

  std::vector<std::int64_t> results;
  std::string error;
  if (own.rank() != kRoot) {
    error = work(task, own);
  } else if (own.size() == 1) {
    // Alone, the root has no one to deal to: it is the whole pool.
    results.assign(items.begin(), items.end());
    error = map_in_place(task, results);
  } else {
    results.resize(items.size());
    deal(items, results, own);
  }
  throw_if_any_rank_failed(error, own);
  return results;
}

}  // namespace kata
