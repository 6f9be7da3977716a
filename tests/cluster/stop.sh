#!/usr/bin/env bash
# Ends the daemons tests/cluster/start.sh started (by their pid files in $AVDF_CLUSTER_DIR) and
# removes the /etc/slurm/slurm.conf link it made; nothing else. Jobs still queued are cancelled
# first. The directory stays, for its logs.
set -uo pipefail
DIR=${AVDF_CLUSTER_DIR:-/tmp/avdf-cluster}
[ -f "$DIR/slurm.conf" ] || { echo "cluster: nothing started in $DIR"; exit 0; }
export SLURM_CONF=$DIR/slurm.conf
scancel --full --user "$(id -un)" 2>/dev/null || true
for daemon in slurmd slurmctld munged; do
  pidfile=$DIR/$daemon.pid
  [ -f "$pidfile" ] || continue
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid"
    for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
    kill -0 "$pid" 2>/dev/null && kill -9 "$pid"
  fi
  rm -f "$pidfile"
done
# the link start.sh made, and only that
[ "$(readlink /etc/slurm/slurm.conf 2>/dev/null)" = "$DIR/slurm.conf" ] && rm -f /etc/slurm/slurm.conf
echo "cluster: stopped (logs in $DIR/log)"
