#!/bin/bash
# Two hosts on one laptop: runs an MPI program across two Linux network
# namespaces joined by a veth pair, with TCP as the only transport, so that the
# ranks on "host a" and "host b" share no memory and every message crosses a
# network stack. See --help.
#
# How: two namespaces, kata2h-<pid>-a and kata2h-<pid>-b, each with its end of
# one veth pair and one address of a private /30 (the pair is created inside
# them: nothing appears in, or reaches, the machine's own network). mpirun runs
# in namespace a with --host <a>:N,<b>:N; instead of ssh it starts Open MPI's
# daemon on host b through this very script (`two_hosts.sh _agent`), which
# enters the namespace that owns the address. btl tcp,self (and pml ob1, so no
# other transport slips in) makes the veth the only way between the hosts.
#
# Every path tears down: a normal end, a failure, --timeout, Ctrl-C and
# SIGTERM. A SIGKILL cannot be caught; its namespaces are removed by the next
# run, or by `two_hosts.sh cleanup`, which deletes those whose pid is dead.
set -u

readonly PREFIX=kata2h
readonly SUBNET=10.219.19.0/30 # inside the two namespaces only
readonly ADDRESS_A=10.219.19.1
readonly ADDRESS_B=10.219.19.2
readonly SKIP=77 # "could not run here": ctest's SKIP_RETURN_CODE, automake's too

self=$(readlink -f "$0") # Open MPI splits the agent's command at spaces: a path without them
program=$(basename "$0")

usage() {
  cat <<EOF
usage: sudo $program run [--ranks-per-host N] [--timeout SECONDS] -- PROGRAM [ARGS...]
       sudo $program cleanup
       $program check

Runs an MPI program on two "hosts" of this machine: two network namespaces
joined by a veth pair ($ADDRESS_A and $ADDRESS_B, which exist only inside them),
N ranks on each (default 2), TCP as the only transport (--mca btl tcp,self).
Ranks 0..N-1 run on host a, N..2N-1 on host b.

  run      set up the two hosts, run PROGRAM across them with mpirun, tear down.
           Exits with PROGRAM's status; 124 if --timeout ran out.
  cleanup  remove namespaces left by runs that were killed (SIGKILL): those
           named $PREFIX-<pid>-a/b whose pid is no longer alive.
  check    say whether this machine can run it (root, ip, mpirun); $SKIP if not.

Exits $SKIP, with one line saying why, when it cannot run here (not root, no ip,
no mpirun, no network namespaces). Needs root: creating namespaces does.

Example (the exercise's tests, 4 ranks on two hosts):
  sudo exercises/09_mpi_map/two_hosts.sh run -- build/09_mpi_map_test
EOF
}

say() { echo "$program: $*" >&2; }

# Why this machine cannot run it, or nothing.
why_not() {
  if [ "$(id -u)" != 0 ]; then
    echo "needs root to create network namespaces"
  elif ! command -v ip >/dev/null; then
    echo "needs the ip command (apt-get install iproute2)"
  elif ! command -v mpirun >/dev/null; then
    echo "needs Open MPI's mpirun (apt-get install openmpi-bin)"
  fi
}

# Exits with SKIP and one line: why, and what to run instead.
skip() {
  say "skipped: $1; instead: sudo $0 run -- ${instead:-PROGRAM}" \
    "(one host, no root needed: ctest -L 09_mpi_map)"
  exit $SKIP
}

# Kills whatever still runs inside namespace $1, then deletes it.
remove_namespace() {
  local pid
  for pid in $(ip netns pids "$1" 2>/dev/null); do
    kill -KILL "$pid" 2>/dev/null
  done
  ip netns delete "$1" 2>/dev/null
}

# Whether process $1 still runs (a zombie does not: its parent may be slow to reap it).
alive() {
  local state
  state=$(sed 's/.*) //' "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$state" ] && [ "${state%% *}" != Z ]
}

# What runs that no longer exist left behind, when a SIGKILL gave them no chance
# to tear down: namespaces kata2h-<pid>-a/b and session directories
# $TMPDIR/kata2h-<pid>.* whose <pid> is dead.
remove_stale() {
  local tmp=${TMPDIR:-/tmp} name pid
  for name in $(ip netns list 2>/dev/null | sed -n "s/^\($PREFIX-[0-9]*-[ab]\)\( .*\)\{0,1\}$/\1/p"); do
    pid=${name#"$PREFIX"-}
    alive "${pid%-*}" || remove_namespace "$name"
  done
  for name in "$tmp/$PREFIX"-*.*; do
    pid=${name#"$tmp/$PREFIX"-}
    pid=${pid%%.*}
    case $pid in '' | *[!0-9]*) continue ;; esac
    alive "$pid" || rm -rf "$name"
  done
}

# Open MPI's remote shell, in place of ssh: `two_hosts.sh _agent [options] HOST COMMAND...`
# runs COMMAND in the namespace that owns HOST's address.
agent() {
  while [ $# -gt 0 ] && [ "${1#-}" != "$1" ]; do shift; done # ssh-style options
  local host=$1 namespace
  shift
  case $host in
    "$ADDRESS_A") namespace=$KATA_TWO_HOSTS_A ;;
    "$ADDRESS_B") namespace=$KATA_TWO_HOSTS_B ;;
    *)
      say "no such host here: $host"
      exit 255
      ;;
  esac
  exec ip netns exec "$namespace" sh -c "$*"
}

instead=
namespace_a=
namespace_b=
session=
child=

teardown() {
  [ -n "$namespace_a" ] && remove_namespace "$namespace_a"
  [ -n "$namespace_b" ] && remove_namespace "$namespace_b"
  [ -n "$session" ] && rm -rf "$session"
}

# Ctrl-C or SIGTERM: stop mpirun (it ends every rank), then the EXIT trap tears down.
# On a busy machine mpirun's abort can stall, waiting for the other host's daemon
# (seen here about once in 15 runs, with every rank still running): after 5 s it is
# killed, and the teardown kills whatever still runs in the two namespaces.
on_signal() {
  trap '' INT TERM HUP
  if [ -n "$child" ]; then
    kill -TERM "$child" 2>/dev/null
    local tenths=0
    while alive "$child" && [ "$tenths" -lt 50 ]; do
      sleep 0.1
      tenths=$((tenths + 1))
    done
    kill -KILL "$child" 2>/dev/null
    wait "$child" 2>/dev/null
  fi
  exit "$1"
}

# Runs a setup step; a failure means this machine cannot do it: skip, not fail.
step() {
  local output
  if ! output=$("$@" 2>&1); then
    skip "cannot set up the two hosts here ($*: ${output:-failed})"
  fi
}

set_up() {
  namespace_a=$PREFIX-$$-a
  namespace_b=$PREFIX-$$-b
  # A dead run whose pid was this one's left them: no live run can own them.
  remove_namespace "$namespace_a"
  remove_namespace "$namespace_b"
  step ip netns add "$namespace_a"
  step ip netns add "$namespace_b"
  # Both ends are created inside the namespaces: no interface in the machine's own.
  step ip -n "$namespace_a" link add veth-a type veth peer name veth-b netns "$namespace_b"
  step ip -n "$namespace_a" addr add "$ADDRESS_A/30" dev veth-a
  step ip -n "$namespace_b" addr add "$ADDRESS_B/30" dev veth-b
  local namespace
  for namespace in "$namespace_a" "$namespace_b"; do
    step ip -n "$namespace" link set lo up
  done
  step ip -n "$namespace_a" link set veth-a up
  step ip -n "$namespace_b" link set veth-b up
  session=$(mktemp -d "${TMPDIR:-/tmp}/$PREFIX-$$.XXXXXX") || skip "cannot create a directory in ${TMPDIR:-/tmp}"
}

run() {
  local per_host=2 timeout=0
  while [ $# -gt 0 ]; do
    case $1 in
      --ranks-per-host)
        per_host=${2:-}
        shift 2 || break
        ;;
      --timeout)
        timeout=${2:-}
        shift 2 || break
        ;;
      --)
        shift
        break
        ;;
      *) break ;;
    esac
  done
  case $per_host in '' | *[!0-9]* | 0*) usage_error "--ranks-per-host wants a positive number" ;; esac
  case $timeout in '' | *[!0-9]*) usage_error "--timeout wants a number of seconds" ;; esac
  [ $# -gt 0 ] || usage_error "run needs a program after --"

  instead=$*
  local reason
  reason=$(why_not)
  [ -z "$reason" ] || skip "$reason"
  remove_stale
  trap teardown EXIT
  trap 'on_signal 130' INT
  trap 'on_signal 143' TERM
  trap 'on_signal 129' HUP
  set_up

  # mpirun needs these as root; the daemon on host b inherits them through the agent.
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  export KATA_TWO_HOSTS_A=$namespace_a KATA_TWO_HOSTS_B=$namespace_b
  # Open MPI's session directories (both hosts', here on one disk) go under
  # $TMPDIR: this run's own, removed by the teardown.
  export TMPDIR=$session
  local limit=()
  [ "$timeout" = 0 ] || limit=(timeout --foreground --kill-after=5 "$timeout")
  # Both hosts share this machine's cores, and so does the kernel, which carries
  # every packet across the veth: a rank that waits must yield its core (as
  # mpiexec --oversubscribe makes it do on one host), else it spins on it while
  # the packet it waits for waits for a core. (Measured here: one round trip
  # 0.3 ms when yielding, 38 ms when spinning, on a loaded 2-core machine.)
  # In the background, so that a signal reaches the trap at once (a shell runs
  # traps only between commands) and the trap can stop mpirun.
  "${limit[@]}" ip netns exec "$namespace_a" \
    mpirun --host "$ADDRESS_A:$per_host,$ADDRESS_B:$per_host" -n $((2 * per_host)) \
    --mca plm rsh --mca plm_rsh_agent "$self _agent" \
    --mca pml ob1 --mca btl tcp,self \
    --mca btl_tcp_if_include "$SUBNET" --mca oob_tcp_if_include "$SUBNET" \
    --mca mpi_yield_when_idle 1 \
    "$@" &
  child=$!
  local status=0
  wait "$child" || status=$?
  child=
  [ "$status" != 124 ] || say "stopped after $timeout s (--timeout)"
  exit "$status"
}

usage_error() {
  say "$1 (see --help)"
  exit 2
}

case ${1:-} in
  run)
    shift
    run "$@"
    ;;
  cleanup)
    reason=$(why_not)
    [ -z "$reason" ] || skip "$reason"
    remove_stale
    ;;
  check)
    reason=$(why_not)
    if [ -n "$reason" ]; then
      say "cannot run here: $reason"
      exit $SKIP
    fi
    echo "$program: this machine can run two hosts"
    ;;
  _agent)
    shift
    agent "$@"
    ;;
  -h | --help)
    usage
    ;;
  *)
    usage >&2
    exit 2
    ;;
esac
