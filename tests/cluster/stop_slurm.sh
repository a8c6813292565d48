#!/usr/bin/env bash
# Stop the daemons that tests/cluster/start_slurm.sh started, and nothing else.
#
# Usage: tests/cluster/stop_slurm.sh
#
# Reads the PIDs recorded in $GEOXAI_SLURM_STATE/pids (default /tmp/geoxai-slurm/pids). A PID is signalled
# only while /proc shows it still belongs to the daemon of that name, so a reused PID is never hit.
# Daemons that were already running before start_slurm.sh ran were never recorded and keep running.
# Jobs still on the test cluster are cancelled first, so no job step outlives its slurmd.
set -euo pipefail

state_dir=${GEOXAI_SLURM_STATE:-/tmp/geoxai-slurm}
pid_record="$state_dir/pids"

say() { echo "stop_slurm.sh: $*"; }

if [[ ! -s "$pid_record" ]]; then
  say "nothing to stop: $pid_record is missing or empty"
  exit 0
fi

is_running() {
  local name=$1 pid=$2
  [[ -n "$pid" && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$name" ]]
}

if grep -q '^slurmctld ' "$pid_record"; then
  # Only our own controller knows these jobs; with a foreign controller, leave its jobs alone.
  scancel --full --quiet --user="$(id -un)" 2>/dev/null || true
fi

# Stop in reverse start order: slurmd, slurmctld, then munged which both need while shutting down.
tac "$pid_record" | while read -r name pid; do
  if ! is_running "$name" "$pid"; then
    say "$name (pid $pid) is not running any more"
    continue
  fi
  kill -TERM "$pid"
  for _ in $(seq 100); do
    is_running "$name" "$pid" || break
    sleep 0.1
  done
  if is_running "$name" "$pid"; then
    say "$name (pid $pid) ignored SIGTERM for 10 s; sending SIGKILL"
    kill -KILL "$pid" || true
  fi
  say "stopped $name (pid $pid)"
done
rm -f "$pid_record"
