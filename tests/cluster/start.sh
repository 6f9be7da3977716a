#!/usr/bin/env bash
# A live single-node SLURM cluster on 127.0.0.1 for the cluster tests (tests/test_cluster_live.py).
#
#   bash tests/cluster/start.sh     installs slurm-wlm and munge if missing (needs root, apt),
#                                   starts munged, slurmctld and slurmd, waits for the node to be idle
#   source $AVDF_CLUSTER_DIR/env.sh then sinfo, sbatch, squeue talk to it (SLURM_CONF)
#   bash tests/cluster/stop.sh      ends exactly the daemons this script started
#
# Everything lives in $AVDF_CLUSTER_DIR (default /tmp/avdf-cluster): the configuration, its own
# munge key and socket, state, spool, logs and pid files; a munged already running on the machine is
# left alone (another socket). One thing is outside it: /etc/slurm/slurm.conf, a symbolic link to
# the configuration, because snakemake-executor-plugin-slurm-jobstep strips SLURM_CONF from the
# environment of the srun it starts inside each job, so srun finds only the compiled-in default
# path. A machine that already has /etc/slurm/slurm.conf (a real cluster) is refused, not touched.
# Slurm 22.05 as Debian 12 ships it: proctrack/linuxproc, task/none, no accounting database (the
# executor plugin polls squeue: --slurm-status-command squeue). Daemons bind 127.0.0.1 only
# (CommunicationParameters=NoCtldInAddrAny,NoInAddrAny: the address this host name resolves to;
# start.sh checks that it is 127.0.0.1 and stops otherwise).
set -euo pipefail
DIR=${AVDF_CLUSTER_DIR:-/tmp/avdf-cluster}
CTLD_PORT=${AVDF_SLURMCTLD_PORT:-16817}
SLURMD_PORT=${AVDF_SLURMD_PORT:-16818}
NODE=avdf-node

if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
  echo "cluster: installing slurm-wlm and munge (apt)"
  export DEBIAN_FRONTEND=noninteractive
  apt-get install -y -qq slurm-wlm munge >/dev/null 2>&1 ||
    { apt-get update -qq && apt-get install -y -qq slurm-wlm munge >/dev/null; }
fi
if [ -f "$DIR/slurmctld.pid" ] && kill -0 "$(cat "$DIR/slurmctld.pid")" 2>/dev/null; then
  echo "cluster: already running in $DIR"; exit 0
fi

# NoInAddrAny binds the daemons to what this host's name resolves to: that must be loopback.
resolved=$(getent hosts "$(hostname)" | awk '{print $1; exit}')
case "$resolved" in
  127.*) ;;
  *) echo "cluster: $(hostname) resolves to '${resolved:-nothing}', not 127.x: refusing to start daemons" \
       "that would listen on it (add '127.0.0.1 $(hostname)' to /etc/hosts on a test machine)" >&2; exit 1 ;;
esac

SYSTEM_CONF=/etc/slurm/slurm.conf
if [ -e "$SYSTEM_CONF" ] && [ "$(readlink "$SYSTEM_CONF")" != "$DIR/slurm.conf" ]; then
  echo "cluster: $SYSTEM_CONF exists and is not this test cluster's: refusing to replace it" >&2; exit 1
fi

mkdir -p "$DIR"/{state,spool,log}
chmod 700 "$DIR"
[ -f "$DIR/munge.key" ] || { head -c 1024 /dev/urandom > "$DIR/munge.key"; chmod 600 "$DIR/munge.key"; }
cpus=$(nproc)
mem_mb=$(( $(awk '/MemTotal/ {print $2}' /proc/meminfo) / 1024 * 9 / 10 ))   # slurmd drains a node that has less than it claims

cat > "$DIR/slurm.conf" <<CONF
ClusterName=avdf-test
SlurmctldHost=localhost(127.0.0.1)
SlurmctldPort=$CTLD_PORT
SlurmdPort=$SLURMD_PORT
CommunicationParameters=NoCtldInAddrAny,NoInAddrAny
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$DIR/munge.socket
StateSaveLocation=$DIR/state
SlurmdSpoolDir=$DIR/spool/%n
SlurmctldPidFile=$DIR/slurmctld.pid
SlurmdPidFile=$DIR/slurmd.pid
SlurmctldLogFile=$DIR/log/slurmctld.log
SlurmdLogFile=$DIR/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU_Memory
DefMemPerCPU=1024
AccountingStorageType=accounting_storage/none
JobAcctGatherType=jobacct_gather/none
JobCompType=jobcomp/none
ReturnToService=2
SlurmdTimeout=60
MinJobAge=600
KillWait=5
NodeName=$NODE NodeHostname=localhost NodeAddr=127.0.0.1 CPUs=$cpus RealMemory=$mem_mb State=UNKNOWN
PartitionName=debug Nodes=$NODE Default=YES MaxTime=INFINITE State=UP
CONF

cat > "$DIR/env.sh" <<ENV
export SLURM_CONF=$DIR/slurm.conf
ENV
export SLURM_CONF=$DIR/slurm.conf
mkdir -p "$(dirname "$SYSTEM_CONF")" && ln -sfn "$DIR/slurm.conf" "$SYSTEM_CONF"

munged --force --socket="$DIR/munge.socket" --key-file="$DIR/munge.key" \
  --pid-file="$DIR/munged.pid" --log-file="$DIR/log/munged.log" --seed-file="$DIR/munged.seed"
slurmctld -f "$SLURM_CONF"
slurmd -f "$SLURM_CONF" -N "$NODE"

for _ in $(seq 60); do
  state=$(sinfo -h -n "$NODE" -o %t 2>/dev/null || true)
  if [ "$state" = idle ]; then echo "cluster: $NODE idle ($cpus CPUs, $mem_mb MB) in $DIR"; exit 0; fi
  sleep 1
done
echo "cluster: $NODE did not become idle (state '${state:-none}'); logs in $DIR/log" >&2
tail -20 "$DIR/log/slurmctld.log" "$DIR/log/slurmd.log" >&2 || true
exit 1
