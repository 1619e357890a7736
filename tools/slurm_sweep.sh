#!/usr/bin/env bash
# One shard of a dnacl sweep as a Slurm job-array task (docs/slurm.md). Submit with
#
#   sbatch --array=1-N tools/slurm_sweep.sh SWEEP.yaml OUT
#
# Task I of N runs the cells whose index % N == I-1 into OUT/shard_I; the same command
# submitted again continues every shard where it stopped (finished cells are skipped). When
# all tasks are done:
#
#   dnacl sweep collect OUT/shard_* --out OUT
#
# Environment: DNACL (the program; default: dnacl on PATH, else build/dnacl), SHARDS
# (N, when the array is not 1-N), DNACL_DEVICE (a device other than the best one).
#
#SBATCH --job-name=dnacl-sweep
#SBATCH --cpus-per-task=2
#SBATCH --mem=4G
#SBATCH --time=24:00:00
#SBATCH --output=slurm-%A_%a.out
set -euo pipefail

if [ $# -ne 2 ]; then
  echo "usage: sbatch --array=1-N $0 SWEEP.yaml OUT_DIR" >&2
  exit 2
fi
sweep=$1
out=$2
: "${SLURM_ARRAY_TASK_ID:?not a job-array task: submit with sbatch --array=1-N}"
i=$SLURM_ARRAY_TASK_ID
# The number of shards: the array's size (SLURM_ARRAY_TASK_COUNT), unless SHARDS says.
n=${SHARDS:-${SLURM_ARRAY_TASK_COUNT:-}}
: "${n:?cannot tell the number of shards: set SHARDS=N}"
if [ "$i" -lt 1 ] || [ "$i" -gt "$n" ]; then
  echo "array index $i is outside 1..$n: use --array=1-$n (or set SHARDS)" >&2
  exit 2
fi

dnacl=${DNACL:-$(command -v dnacl || echo build/dnacl)}

# PoCL (the CPU device) starts one thread per core it sees, which on a shared node may be
# far more than the cores Slurm gave this task: cap it at the allocation. Its kernel cache
# goes under the job's temporary directory unless POCL_CACHE_DIR is set (a shared home
# directory cache works too, but many tasks writing it at once is slow on some file
# systems).
cpus=${SLURM_CPUS_PER_TASK:-2}
export POCL_MAX_PTHREAD_COUNT=${POCL_MAX_PTHREAD_COUNT:-$cpus}  # PoCL <= 3
export POCL_CPU_MAX_CU_COUNT=${POCL_CPU_MAX_CU_COUNT:-$cpus}    # PoCL >= 4
if [ -z "${POCL_CACHE_DIR:-}" ]; then
  export POCL_CACHE_DIR=${TMPDIR:-/tmp}/pocl-cache-${USER:-$(id -un)}
  mkdir -p "$POCL_CACHE_DIR"
fi

echo "$(date -Is) $(hostname): shard $i/$n of $sweep into $out/shard_$i"
# exec: dnacl is then the process Slurm signals at the time limit (SIGTERM); it stops at
# once, keeping every finished cell, and a resubmitted task continues from there.
exec "$dnacl" sweep "$sweep" --out "$out/shard_$i" --shard "$i/$n"
