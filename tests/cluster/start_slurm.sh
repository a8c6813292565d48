#!/usr/bin/env bash
# Start a one-node SLURM cluster on this machine, to test profiles/slurm for real.
#
# Usage: tests/cluster/start_slurm.sh [--force]
#   --force  overwrite an /etc/slurm/slurm.conf that this script did not write (it is backed up first)
#
# Environment:
#   GEOXAI_SLURM_STATE          folder for state, logs, PID files (default /tmp/geoxai-slurm)
#   GEOXAI_SLURM_PARTITION      name of the one partition (default geoxai)
#   GEOXAI_SLURM_START_TIMEOUT  seconds to wait for the node to become idle (default 60)
#
# Idempotent: daemons that already run are left alone; only the daemons this script starts are recorded
# in $GEOXAI_SLURM_STATE/pids, and stop_slurm.sh stops exactly those. Needs root (it writes /etc/slurm and
# starts system daemons); meant for throw-away test machines and CI runners, not for a real cluster.
set -euo pipefail

state_dir=${GEOXAI_SLURM_STATE:-/tmp/geoxai-slurm}
partition=${GEOXAI_SLURM_PARTITION:-geoxai}
timeout_s=${GEOXAI_SLURM_START_TIMEOUT:-60}
conf=/etc/slurm/slurm.conf
marker="# geoxai test cluster: written by tests/cluster/start_slurm.sh"
pid_record="$state_dir/pids"
force=0

die() { echo "start_slurm.sh: $*" >&2; exit 1; }
say() { echo "start_slurm.sh: $*"; }

for arg in "$@"; do
  case "$arg" in
    --force) force=1 ;;
    -h|--help) sed -n '2,15p' "$0"; exit 0 ;;
    *) die "unknown argument '$arg' (only --force is accepted)" ;;
  esac
done

[[ $(id -u) -eq 0 ]] || die "must run as root: it installs packages, writes $conf and starts daemons"

install_packages() {
  command -v apt-get >/dev/null || die "sbatch is missing and apt-get is not available: install SLURM" \
    "(slurmctld, slurmd, slurm-client, munge) yourself"
  say "installing slurmctld slurmd slurm-client munge with apt-get (about a minute)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >"$state_dir/apt.log" 2>&1 \
    || die "apt-get update failed, see $state_dir/apt.log"
  apt-get install -y -qq --no-install-recommends slurmctld slurmd slurm-client munge \
    >>"$state_dir/apt.log" 2>&1 || die "apt-get install failed, see $state_dir/apt.log"
}

# RealMemory must not exceed what slurmd measures, or the node is drained; keep 5% for the OS.
real_memory_mb() {
  local total_kb
  total_kb=$(awk '/^MemTotal:/ {print $2}' /proc/meminfo)
  echo $(( total_kb / 1024 * 95 / 100 ))
}

write_config() {
  local host cpus mem
  host=$(hostname -s)
  cpus=$(nproc)
  mem=$(real_memory_mb)
  cat <<EOF
$marker
# (any file starting with this line may be overwritten by it; see tests/cluster/README.md)
ClusterName=geoxai
SlurmctldHost=$host(127.0.0.1)
SlurmUser=root
AuthType=auth/munge
CredType=cred/munge
MpiDefault=none
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
SchedulerType=sched/backfill
SlurmdParameters=config_overrides
ReturnToService=2
EnforcePartLimits=ALL
MinJobAge=3600
KillWait=5
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/filetxt
JobCompLoc=$state_dir/jobcomp.log
StateSaveLocation=$state_dir/slurmctld
SlurmdSpoolDir=$state_dir/slurmd
SlurmctldPidFile=$state_dir/slurmctld.pid
SlurmdPidFile=$state_dir/slurmd.pid
SlurmctldLogFile=$state_dir/slurmctld.log
SlurmdLogFile=$state_dir/slurmd.log
SlurmctldDebug=info
SlurmdDebug=info
NodeName=$host NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem State=UNKNOWN
PartitionName=$partition Nodes=$host Default=YES MaxTime=INFINITE State=UP
EOF
}

# A PID counts as running daemon NAME only if /proc says so: PID files outlive crashed daemons.
is_running() {
  local name=$1 pid=$2
  [[ -n "$pid" && -r /proc/$pid/comm && $(cat "/proc/$pid/comm") == "$name" ]]
}

pid_from_file() { [[ -r "$1" ]] && tr -dc '0-9' <"$1" || true; }

record() { echo "$1 $2" >>"$pid_record"; }

# Forget recorded daemons that are gone, so a later stop can never signal a reused PID.
prune_pid_record() {
  [[ -e "$pid_record" ]] || return 0
  local name pid alive=""
  while read -r name pid; do
    if is_running "$name" "$pid"; then alive+="$name $pid"$'\n'; fi
  done <"$pid_record"
  printf '%s' "$alive" >"$pid_record"
}

node_state() { sinfo --noheader --nodes "$(hostname -s)" --format %T 2>/dev/null | head -n1 || true; }

start_munge() {
  if munge -n </dev/null 2>/dev/null | unmunge >/dev/null 2>&1; then
    say "munged already answers, leaving it alone"
    return
  fi
  install -d -o munge -g munge -m 0755 /run/munge
  install -d -o munge -g munge -m 0700 /var/log/munge /var/lib/munge
  runuser -u munge -- /usr/sbin/munged
  local pid
  pid=$(pid_from_file /run/munge/munged.pid)
  is_running munged "$pid" || die "munged did not start, see /var/log/munge/munged.log"
  record munged "$pid"
  say "started munged (pid $pid)"
}

start_daemon() {
  local name=$1 pid_file=$2 log_file=$3 pid
  pid=$(pid_from_file "$pid_file")
  if is_running "$name" "$pid"; then
    say "$name already runs (pid $pid), leaving it alone"
    reused_daemon=1
    return
  fi
  "/usr/sbin/$name" || die "$name failed to start, see $log_file"
  for _ in $(seq 50); do
    pid=$(pid_from_file "$pid_file")
    is_running "$name" "$pid" && break
    sleep 0.1
  done
  is_running "$name" "$pid" || die "$name did not stay up, see $log_file"
  record "$name" "$pid"
  say "started $name (pid $pid)"
}

wait_for_idle_node() {
  local deadline=$((SECONDS + timeout_s)) state=""
  while ((SECONDS < deadline)); do
    state=$(node_state)
    case "$state" in
      idle|mixed|allocated) say "node $(hostname -s) is $state after ${SECONDS}s"; return ;;
    esac
    sleep 0.5
  done
  die "node $(hostname -s) not idle after ${timeout_s}s (state: '${state:-no answer}');" \
    "see $state_dir/slurmctld.log and $state_dir/slurmd.log"
}

mkdir -p "$state_dir"
prune_pid_record
command -v sbatch >/dev/null || install_packages
for tool in sbatch sinfo munged slurmctld slurmd; do
  command -v "$tool" >/dev/null || [[ -x /usr/sbin/$tool ]] || die "$tool is missing after installation"
done

wanted=$(write_config)
if [[ -e "$conf" ]] && [[ $(head -n1 "$conf") != "$marker" ]]; then
  if ((force)); then
    backup="$conf.geoxai-backup.$(date +%Y%m%dT%H%M%S)"
    cp -p "$conf" "$backup"
    say "replacing a foreign $conf (backed up to $backup)"
  else
    die "$conf exists and was not written by this script; refusing to overwrite it" \
      "(rerun with --force to back it up and replace it)"
  fi
fi
config_changed=0
reused_daemon=0
if [[ ! -e "$conf" ]] || [[ "$(cat "$conf")" != "$wanted" ]]; then
  mkdir -p "$(dirname "$conf")"
  printf '%s\n' "$wanted" >"$conf.tmp.$$"
  mv "$conf.tmp.$$" "$conf"
  config_changed=1
  say "wrote $conf"
fi
mkdir -p "$state_dir/slurmctld" "$state_dir/slurmd"

start_munge
start_daemon slurmctld "$state_dir/slurmctld.pid" "$state_dir/slurmctld.log"
start_daemon slurmd "$state_dir/slurmd.pid" "$state_dir/slurmd.log"
if ((config_changed && reused_daemon)); then
  # Daemons that were already running read the old file; make them read the new one.
  scontrol reconfigure >/dev/null 2>&1 || say "scontrol reconfigure failed; run stop_slurm.sh and start again"
fi
wait_for_idle_node
