#!/usr/bin/env bash
# End-to-end check of the Slurm scripts on a real one-node Slurm cluster (Debian's slurm-wlm):
# installs and starts slurmctld/slurmd/munged when no cluster answers (root needed), submits a
# 4-task array of shards of a small experiment plus the dependent merge job, waits, and checks
# that the merged CSVs are byte-identical to a plain `initlab run`. Idempotent; stops the
# daemons it started, whatever happens.
set -euo pipefail
cd "$(dirname "$0")/../.."
root=$PWD
start=$(date +%s)

cargo build --release --quiet
bin=$root/target/release/initlab

started=()
cleanup() {
    if [ -n "${jobs_submitted:-}" ]; then scancel $jobs_submitted 2>/dev/null || true; fi
    for pid in "${started[@]}"; do kill "$pid" 2>/dev/null || true; done
    for pid in "${started[@]}"; do
        for _ in $(seq 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    done
    [ -n "${work:-}" ] && rm -rf "$work"
}
trap cleanup EXIT

if ! sinfo -h >/dev/null 2>&1; then
    if ! command -v slurmctld >/dev/null || ! command -v munged >/dev/null; then
        apt-get update -qq
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq slurm-wlm munge >/dev/null
    fi
    H=$(hostname); S=/tmp/initlab-slurm; mkdir -p $S/state $S/spool $S/log /etc/slurm
    cat > /etc/slurm/slurm.conf <<CONF
ClusterName=local
SlurmctldHost=$H
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
StateSaveLocation=$S/state
SlurmdSpoolDir=$S/spool
SlurmctldLogFile=$S/log/ctld.log
SlurmdLogFile=$S/log/d.log
SlurmctldPidFile=$S/ctld.pid
SlurmdPidFile=$S/d.pid
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core
ReturnToService=2
MpiDefault=none
NodeName=$H CPUs=$(nproc) RealMemory=8000 State=UNKNOWN
PartitionName=debug Nodes=$H Default=YES MaxTime=INFINITE State=UP
CONF
    test -f /etc/munge/munge.key || /usr/sbin/mungekey -c
    chown munge:munge /etc/munge/munge.key; mkdir -p /run/munge; chown munge:munge /run/munge
    if ! pgrep -x munged >/dev/null; then
        rm -f /run/munge/munged.pid
        /usr/sbin/munged --force
        for _ in $(seq 50); do [ -s /run/munge/munged.pid ] && break; sleep 0.1; done
        started+=("$(cat /run/munge/munged.pid)")
    fi
    rm -f $S/ctld.pid $S/d.pid
    /usr/sbin/slurmctld; /usr/sbin/slurmd
    for _ in $(seq 50); do [ -s $S/ctld.pid ] && [ -s $S/d.pid ] && break; sleep 0.2; done
    started+=("$(cat $S/d.pid)" "$(cat $S/ctld.pid)")
    for _ in $(seq 60); do sinfo -h -o %T 2>/dev/null | grep -q idle && break; sleep 0.5; done
fi
sinfo -h -o "%P %a %D %T"

work=$(mktemp -d /tmp/initlab-slurm-test.XXXXXX)
cat > "$work/sweep.toml" <<'TOML'
name = "slurm_sweep"
seed = 11
trials = 2
batch = 64
[network]
depth = [10, 20, 30]
width = [64, 128]
activation = ["relu", "tanh"]
[[init]]
weight = { scheme = "kaiming_normal", nonlinearity = "relu" }
[[init]]
preset = "pytorch_default"
TOML
cd "$work"
export INITLAB=$bin
array=$(sbatch --parsable --array=0-3 "$root/scripts/slurm/sweep.sbatch" "$work/sweep.toml" "$work/out")
jobs_submitted=$array
merge=$(sbatch --parsable --wait --dependency=afterok:"$array" "$root/scripts/slurm/merge.sbatch" "$work/out")
jobs_submitted=
"$bin" run "$work/sweep.toml" --out "$work/plain" --no-plot --quiet
for f in experiment.toml layers.csv summary.csv cells.csv; do
    cmp "$work/plain/$f" "$work/out/merged/$f"
done
for i in 1 2 3 4; do grep -q "\"shard\": \"$i/4\"" "$work/out/shard-$i/manifest.json"; done
echo "slurm: array job $array (4 shards) + merge job $merge: merged output byte-identical to a plain run ($(( $(date +%s) - start )) s)"
