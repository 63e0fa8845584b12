#!/bin/sh
# Runs the benchmark of exercise 09 on 1, 2, 4 and 8 ranks of this machine
# (more ranks than cores is allowed: --oversubscribe).
#   bench/09_mpi_map_bench.sh [BINARY [BENCHMARK FLAGS...]]
# e.g. bench/09_mpi_map_bench.sh build/09_mpi_map_bench --benchmark_repetitions=5 \
#        --benchmark_report_aggregates_only=true
# KATA_MPI_RANKS="1 4" picks other rank counts.
set -eu
binary=${1:-build/09_mpi_map_bench}
[ $# -gt 0 ] && shift
as_root=
if [ "$(id -u)" = 0 ]; then
  as_root=--allow-run-as-root  # Open MPI refuses root unless told
fi
for ranks in ${KATA_MPI_RANKS:-1 2 4 8}; do
  echo "== mpiexec -n $ranks"
  mpiexec -n "$ranks" --oversubscribe $as_root "$binary" "$@"
done
