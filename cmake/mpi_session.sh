#!/bin/sh
# Runs an mpiexec command line with Open MPI's session directory (its Unix
# sockets, shared-memory files and per-job directories) in a private temporary
# directory, removed when the command ends:
#   cmake/mpi_session.sh mpiexec -n 4 ./09_mpi_map_test
# Open MPI puts it under $TMPDIR (default /tmp), named after the host and the
# user only: two mpiexecs at once (ctest -j) race to create and remove it
# (open-mpi/ompi#8510), and a killed run leaves it behind.
set -u
dir=$(mktemp -d "${TMPDIR:-/tmp}/kata-mpi.XXXXXX") || exit 1
trap 'rm -rf "$dir"' EXIT
child=
on_signal() {
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    wait "$child"
  fi
  exit "$1"
}
trap 'on_signal 130' INT
trap 'on_signal 143' TERM
trap 'on_signal 129' HUP
# In the background, so that a signal reaches the trap at once (a shell runs
# traps only between commands); the trap stops mpiexec, which ends every rank,
# before the directory goes.
TMPDIR=$dir "$@" &
child=$!
wait "$child"
