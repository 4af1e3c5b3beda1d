#!/usr/bin/env bash
# Starts the local ranks of a data-parallel trol run (what `torchrun --no-python` does):
#
#   scripts/launch.sh --nproc N [--nnodes M --node-rank R --master ADDR:PORT] [--grace S] -- build/trol train CONFIG [k=v ...]
#
# Each local rank i gets RANK = R*N + i, WORLD_SIZE = M*N, LOCAL_RANK = i, LOCAL_WORLD_SIZE = N,
# MASTER_ADDR, MASTER_PORT (default 127.0.0.1:29500; on several nodes, the address of node 0,
# which serves the rendezvous), and OPENBLAS_NUM_THREADS = cores / N unless set (N ranks
# with a BLAS thread per core each would oversubscribe the cores). Run it once per node.
#
# SIGTERM/SIGINT are forwarded to every rank (trol finishes the step, writes a checkpoint and
# exits 0; a second signal kills). When a rank fails, the others normally stop by themselves
# within distributed.timeout_seconds, naming the failed rank; whatever still runs --grace
# seconds (default 60) later is killed. The exit status is 0 only if every rank exited 0,
# else the first failure's.
set -uo pipefail

nproc="" nnodes=1 node_rank=0 master="127.0.0.1:29500" grace=60
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//'; exit "${1:-2}"; }
while [ $# -gt 0 ]; do
  case "$1" in
    --nproc) nproc="$2"; shift 2 ;;
    --nnodes) nnodes="$2"; shift 2 ;;
    --node-rank) node_rank="$2"; shift 2 ;;
    --master) master="$2"; shift 2 ;;
    --grace) grace="$2"; shift 2 ;;
    -h|--help) usage 0 ;;
    --) shift; break ;;
    *) echo "launch.sh: unknown option '$1'" >&2; usage ;;
  esac
done
[ $# -gt 0 ] || { echo "launch.sh: no command after --" >&2; usage; }
for n in "$nproc" "$nnodes" "$node_rank" "$grace"; do
  [[ "$n" =~ ^[0-9]+$ ]] || { echo "launch.sh: '$n' is not a number" >&2; usage; }
done
[ "$nproc" -ge 1 ] && [ "$nnodes" -ge 1 ] && [ "$node_rank" -lt "$nnodes" ] ||
  { echo "launch.sh: need --nproc >= 1, --nnodes >= 1 and --node-rank < --nnodes" >&2; exit 2; }
[[ "$master" == *:* ]] || { echo "launch.sh: --master must be ADDR:PORT" >&2; exit 2; }
master_addr="${master%:*}" master_port="${master##*:}"

if [ -z "${OPENBLAS_NUM_THREADS:-}" ]; then
  cores=$(command nproc)
  threads=$(( cores / nproc )); [ "$threads" -ge 1 ] || threads=1
  export OPENBLAS_NUM_THREADS="$threads"
  echo "launch.sh: OPENBLAS_NUM_THREADS=$threads per rank ($cores cores, $nproc ranks on this node)" >&2
fi

declare -A rank_of=()
pids=()
for ((i = 0; i < nproc; i++)); do
  rank=$((node_rank * nproc + i))
  RANK=$rank WORLD_SIZE=$((nnodes * nproc)) LOCAL_RANK=$i LOCAL_WORLD_SIZE=$nproc GROUP_RANK=$node_rank \
    MASTER_ADDR="$master_addr" MASTER_PORT="$master_port" "$@" &
  pids+=($!)
  rank_of[$!]=$rank
done

signal_ranks() {  # signal_ranks SIGNAL: to every rank still running (stopped ones are woken)
  for pid in "${pids[@]}"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill "-$1" "$pid" 2>/dev/null
      [ "$1" = KILL ] || kill -CONT "$pid" 2>/dev/null
    fi
  done
}
signals=0
forward() {
  signals=$((signals + 1))
  if [ "$signals" -eq 1 ]; then signal_ranks "$1"; else signal_ranks KILL; fi
}
trap 'forward TERM' TERM
trap 'forward INT' INT

status=0 deadline=""
while [ ${#rank_of[@]} -gt 0 ]; do
  if [ -n "$deadline" ] && [ "$(date +%s)" -ge "$deadline" ]; then
    echo "launch.sh: ranks still running $grace s after the first failure: killing them" >&2
    signal_ranks KILL
    deadline=""
  fi
  # wait -n returns when a rank exits, when the one-second timer does (while a deadline
  # runs), or with no pid when a trapped signal arrives.
  timer=()
  if [ -n "$deadline" ]; then sleep 1 & timer=($!); fi
  finished=""
  wait -n -p finished "${!rank_of[@]}" "${timer[@]}"; rc=$?
  [ ${#timer[@]} -eq 0 ] || { kill "${timer[0]}" 2>/dev/null; wait "${timer[0]}" 2>/dev/null; }
  finished=${finished:-}
  [ -n "$finished" ] && [ -n "${rank_of[$finished]:-}" ] || continue
  rank=${rank_of[$finished]}
  unset "rank_of[$finished]"
  if [ "$rc" -ne 0 ]; then
    echo "launch.sh: rank $rank (pid $finished) exited with status $rc" >&2
    if [ "$status" -eq 0 ]; then
      status=$rc
      [ ${#rank_of[@]} -eq 0 ] || deadline=$(( $(date +%s) + grace ))
    fi
  fi
done
exit "$status"
