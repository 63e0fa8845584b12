// Exercise 09: the same map past one machine, on MPI.
//
// The contract: tests and graders call exactly these functions.
//
// The two maps (and PrivateComm and throw_if_any_rank_failed, which they use) are
// collective (SPMD): every rank of the communicator calls them, in the same order,
// with the same task. Rank 0 of the communicator is the root: only its items
// count, and only it gets the results. Other ranks may pass any span (an empty one
// is usual): it is ignored, and they get an empty vector. A task's failure or a
// bad argument is an exception on every rank alike, so that no rank is left
// waiting in a call the others have abandoned. An MpiError is thrown where MPI
// failed; if nothing catches it, that process dies and mpiexec ends the job.
#pragma once

#include <kata/errors.hpp>

#include <mpi.h>

#include <cstdint>
#include <span>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace kata {

// An MPI call returned an error code. what() names the call and gives MPI's text.
class MpiError : public std::runtime_error {
 public:
  using std::runtime_error::runtime_error;
};

// Returns if `code` is MPI_SUCCESS; otherwise throws MpiError with the message
// "<what>: <MPI_Error_string of code>", e.g. "MPI_Send: MPI_ERR_COUNT: invalid count argument".
void check_mpi(int code, std::string_view what);

// A private duplicate of a communicator (MPI_Comm_dup), freed when it dies.
// Messages on it never mix with the caller's own traffic on `comm`, and it
// returns error codes (MPI_ERRORS_RETURN) instead of aborting the job, without
// changing the caller's error handler. Collective over `comm`.
// MPI_COMM_NULL is std::invalid_argument.
class PrivateComm {
 public:
  explicit PrivateComm(MPI_Comm comm);
  ~PrivateComm();
  PrivateComm(const PrivateComm&) = delete;
  PrivateComm& operator=(const PrivateComm&) = delete;

  [[nodiscard]] MPI_Comm get() const noexcept { return comm_; }
  [[nodiscard]] int rank() const noexcept { return rank_; }
  [[nodiscard]] int size() const noexcept { return size_; }

 private:
  MPI_Comm comm_ = MPI_COMM_NULL;
  int rank_ = 0;
  int size_ = 0;
};

// Maps `items` in place, item by item, and returns what went wrong: "" if every
// task returned, else the message of the exception that stopped it (a task that
// throws something other than a std::exception still gets a message). Local: no MPI.
[[nodiscard]] std::string map_in_place(Task task, std::span<std::int64_t> items);

// Collective: every rank passes what went wrong on it ("" for nothing). Returns if
// every rank passed ""; otherwise every rank throws the same WorkerError, which
// names the lowest failing rank and carries its message.
void throw_if_any_rank_failed(const std::string& error, const PrivateComm& comm);

// The static map: the root broadcasts the item count, scatters the items in
// near-equal contiguous blocks (MPI_Scatterv; the first n % size ranks get one
// more), every rank, the root included, maps its block, and the root gathers the
// results in order (MPI_Gatherv). Returns task(items[i]) for every i on the root,
// an empty vector elsewhere. A null task is std::invalid_argument and a task that
// throws is a WorkerError, on every rank.
[[nodiscard]] std::vector<std::int64_t> mpi_map(Task task, std::span<const std::int64_t> items,
                                                MPI_Comm comm);

// The dynamic map, for uneven work: the root hands out chunks of
// ceil(n / (4 * workers)) items to whichever worker asks next (MPI_Send and
// MPI_Recv with tags for work, result and stop), and puts each chunk's results in
// place. With two or more ranks the root only deals and collects (a worker that
// asks must get its answer at once); alone, it maps everything itself.
// Returns, raises and ignores exactly as mpi_map does.
[[nodiscard]] std::vector<std::int64_t> mpi_map_dynamic(Task task,
                                                        std::span<const std::int64_t> items,
                                                        MPI_Comm comm);

}  // namespace kata
