// Reference solution, exercise 09: a communicator of our own.
//
// A library must not talk on its caller's communicator: a receive from
// MPI_ANY_SOURCE could take a message the caller meant for itself. MPI_Comm_dup
// gives a new context with the same ranks, the way a library gets its own
// namespace for messages. Its error handler is ours to choose.
#include "mpi_map.hpp"

namespace kata {

PrivateComm::PrivateComm(MPI_Comm comm) {
  if (comm == MPI_COMM_NULL) {
    throw std::invalid_argument("PrivateComm: the communicator is MPI_COMM_NULL");
  }
  // Until the duplicate exists, an error here goes to the caller's handler:
  // by default MPI_ERRORS_ARE_FATAL, which aborts every rank with a message.
  check_mpi(MPI_Comm_dup(comm, &comm_), "MPI_Comm_dup");
  try {
    check_mpi(MPI_Comm_set_errhandler(comm_, MPI_ERRORS_RETURN), "MPI_Comm_set_errhandler");
    check_mpi(MPI_Comm_rank(comm_, &rank_), "MPI_Comm_rank");
    check_mpi(MPI_Comm_size(comm_, &size_), "MPI_Comm_size");
  } catch (...) {
    MPI_Comm_free(&comm_);
    throw;
  }
}

PrivateComm::~PrivateComm() {
  // Nothing to do about a failure here: a destructor must not throw.
  MPI_Comm_free(&comm_);
}

}  // namespace kata
