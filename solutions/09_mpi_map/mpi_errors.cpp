// Reference solution, exercise 09: MPI failures as exceptions, the same on every rank.
#include "mpi_map.hpp"

#include <limits>

namespace kata {

void check_mpi(int code, std::string_view what) {
  if (code == MPI_SUCCESS) {
    return;
  }
  char text[MPI_MAX_ERROR_STRING];
  int length = 0;
  if (MPI_Error_string(code, text, &length) != MPI_SUCCESS) {
    throw MpiError(std::string(what) + ": MPI error code " + std::to_string(code));
  }
  throw MpiError(std::string(what) + ": " + std::string(text, static_cast<std::size_t>(length)));
}

// A task's exception must not escape here: this rank would leave the collective
// calls the others are about to make, and they would wait for it forever.
std::string map_in_place(Task task, std::span<std::int64_t> items) {
  try {
    for (std::int64_t& item : items) {
      item = task(item);
    }
  } catch (const std::exception& e) {
    return e.what()[0] == '\0' ? "the task threw a std::exception with an empty message" : e.what();
  } catch (...) {
    return "the task threw something that is not a std::exception";
  }
  return "";
}

// A rank that simply threw would leave the others blocked in the next collective
// call, waiting for it forever. So every rank says how it fared, and all of them
// throw, or none does: the SPMD face of "the task's message reaches the parent".
void throw_if_any_rank_failed(const std::string& error, const PrivateComm& comm) {
  int mine = error.empty() ? comm.size() : comm.rank();
  int first_failed = 0;
  check_mpi(MPI_Allreduce(&mine, &first_failed, 1, MPI_INT, MPI_MIN, comm.get()),
            "MPI_Allreduce of the failed ranks");
  if (first_failed == comm.size()) {
    return;
  }

  // Only the failing rank knows its message: it sends the length, then the text.
  std::string message = error;
  if (message.size() > static_cast<std::size_t>(std::numeric_limits<int>::max())) {
    message.resize(static_cast<std::size_t>(std::numeric_limits<int>::max()));
  }
  int length = static_cast<int>(message.size());
  check_mpi(MPI_Bcast(&length, 1, MPI_INT, first_failed, comm.get()),
            "MPI_Bcast of an error message's length");
  message.resize(static_cast<std::size_t>(length));
  check_mpi(MPI_Bcast(message.data(), length, MPI_CHAR, first_failed, comm.get()),
            "MPI_Bcast of an error message");
  throw WorkerError("a task failed on rank " + std::to_string(first_failed) + ": " + message);
}

}  // namespace kata
