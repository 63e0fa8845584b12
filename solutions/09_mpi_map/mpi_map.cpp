// Reference solution, exercise 09: the static map, scatter, map, gather.
//
// The same three steps as Pool.map with one chunk per worker, but every step is
// a collective call that every rank makes: there is no parent that forks, only
// copies of one program that agree on what to do next.
#include "mpi_map.hpp"

#include <limits>

namespace kata {

namespace {

constexpr int kRoot = 0;

// Near-equal contiguous blocks: rank r gets n / size items, and the first
// n % size ranks one more. With fewer items than ranks, the last ranks get none.
struct Blocks {
  std::vector<int> counts;
  std::vector<int> displacements;
};

Blocks split_into_blocks(int n, int size) {
  Blocks blocks{std::vector<int>(static_cast<std::size_t>(size)),
                std::vector<int>(static_cast<std::size_t>(size))};
  int next = 0;
  for (int r = 0; r < size; ++r) {
    const auto i = static_cast<std::size_t>(r);
    blocks.counts[i] = n / size + (r < n % size ? 1 : 0);
    blocks.displacements[i] = next;
    next += blocks.counts[i];
  }
  return blocks;
}

}  // namespace

std::vector<std::int64_t> mpi_map(Task task, std::span<const std::int64_t> items, MPI_Comm comm) {
  // Every rank gets the same task, so every rank throws here alike.
  if (task == nullptr) {
    throw std::invalid_argument("mpi_map: the task is a null function pointer");
  }
  const PrivateComm own(comm);

  // Only the root knows n; the others need it to size their share.
  std::int64_t n = own.rank() == kRoot ? static_cast<std::int64_t>(items.size()) : 0;
  check_mpi(MPI_Bcast(&n, 1, MPI_INT64_T, kRoot, own.get()), "MPI_Bcast of the item count");
  // MPI counts are int (MPI 4.0's MPI_Scatterv_c lifts that; Open MPI 4.1 lacks it).
  if (n > std::numeric_limits<int>::max()) {
    throw std::invalid_argument("mpi_map: " + std::to_string(n) +
                                " items is more than an MPI count (int) can hold");
  }
  const Blocks blocks = split_into_blocks(static_cast<int>(n), own.size());
  const int my_count = blocks.counts[static_cast<std::size_t>(own.rank())];

  // The send buffer and the counts matter only on the root; items.data() is
  // ignored elsewhere, which is why other ranks may pass an empty span.
  std::vector<std::int64_t> share(static_cast<std::size_t>(my_count));
  check_mpi(MPI_Scatterv(items.data(), blocks.counts.data(), blocks.displacements.data(),
                         MPI_INT64_T, share.data(), my_count, MPI_INT64_T, kRoot, own.get()),
            "MPI_Scatterv of the items");

  const std::string error = map_in_place(task, share);

  // Gather even after a failure: every rank must make the same collective calls.
  std::vector<std::int64_t> results(own.rank() == kRoot ? static_cast<std::size_t>(n) : 0);
  check_mpi(MPI_Gatherv(share.data(), my_count, MPI_INT64_T, results.data(), blocks.counts.data(),
                        blocks.displacements.data(), MPI_INT64_T, kRoot, own.get()),
            "MPI_Gatherv of the results");
  throw_if_any_rank_failed(error, own);
  return results;
}

}  // namespace kata
