#!/bin/sh
# Runs the benchmark of exercise 09 on 1, 2, 4 and 8 ranks of this machine
# (more ranks than cores is allowed: --oversubscribe), then on 2 x 2 ranks: two
# hosts of 2 ranks each, made of network namespaces, TCP between them
# (exercises/09_mpi_map/two_hosts.sh; needs root, else that run says why and
# exits 77 after the others).
#   bench/09_mpi_map_bench.sh [BINARY [BENCHMARK FLAGS...]]
# e.g. bench/09_mpi_map_bench.sh build/09_mpi_map_bench --benchmark_repetitions=5 \
#        --benchmark_report_aggregates_only=true
# KATA_MPI_RANKS="1 4 2x2" picks other runs: N is N ranks on this host, 2xN is
# N ranks on each of two hosts.
set -eu
two_hosts=$(dirname "$0")/../exercises/09_mpi_map/two_hosts.sh
binary=${1:-build/09_mpi_map_bench}
[ $# -gt 0 ] && shift
as_root=
if [ "$(id -u)" = 0 ]; then
  as_root=--allow-run-as-root  # Open MPI refuses root unless told
fi
status=0
for ranks in ${KATA_MPI_RANKS:-1 2 4 8 2x2}; do
  case $ranks in
    2x*)
      echo "== two hosts, ${ranks#2x} ranks each, TCP"
      if ! why=$("$two_hosts" check 2>&1); then
        echo "two hosts not measured: ${why#*: cannot run here: } (as root: sudo ./kata bench 09)" >&2
        status=77
        continue
      fi
      "$two_hosts" run --ranks-per-host "${ranks#2x}" -- "$binary" "$@" || status=$?
      ;;
    *)
      echo "== mpiexec -n $ranks"
      mpiexec -n "$ranks" --oversubscribe $as_root "$binary" "$@"
      ;;
  esac
done
exit $status
