#!/bin/bash
# Rendered by ringload from a run spec: edit the spec and render again rather than this file.
# Run it with `bash run-mpi.sh` (or `sbatch run-mpi.sh` inside Slurm). The MPI launcher starts
# one rank per process (OMPI_COMM_WORLD_RANK or PMIX_RANK); when all ranks end, the results
# are merged and the script fails if any rank failed.
#SBATCH --job-name=ringload-snap
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=2
#SBATCH --partition=debug
#SBATCH --account=bench-acct
#SBATCH --time=1:00:00
#SBATCH --exclusive
#SBATCH --gres=gpu:8
set -u
RINGLOAD='/opt/ringload/bin/ringload'
RESULTS='/shared/ringload-results'
RUN_DIR='/shared/ringload-results/snap-rich'
SPEC="$RUN_DIR/run.toml"
if [ -e "$SPEC" ]; then
  echo "ringload: $RUN_DIR already holds a run; run ids are never reused: render with a new [run] id" >&2
  exit 1
fi
mkdir -p -- "$RUN_DIR" || exit 1
printf '%s' '[run]
id = "snap-rich"
ranks = 4
barrier = true
barrier_timeout = "10m"
merge_timeout = "10m"
results_dir = "/shared/ringload-results"
ringload = "/opt/ringload/bin/ringload"

[target]
protocol = "ais"
endpoint = "http://ais-proxy.ais.svc.cluster.local:51080"
bucket = "ais://bench"

[target.credentials]
secret = "ais-token"
token_env = "MY_TOKEN"

[workload]
duration = "5m"
maxsize = "1MiB"
minsize = "1MiB"
numworkers = 16
pctput = 100
subdir = "snap"

[kubernetes]
image = "ghcr.io/acme/ringload:0.1.0"
pull_policy = "Always"
pull_secret = "regcred"
namespace = "bench"
service_account = "ringload"
one_pod_per_node = true
results_pvc = "ringload-results"
ttl_seconds_after_finished = 3600

[kubernetes.node_selector]
aisloader = "ais"
"example.com/pool" = "bench"

[kubernetes.resources.requests]
cpu = "4"
memory = "8Gi"

[kubernetes.resources.limits]
cpu = "8"
memory = "8Gi"

[[kubernetes.tolerations]]
key = "dedicated"
operator = "Equal"
value = "bench"
effect = "NoSchedule"

[[kubernetes.tolerations]]
key = "node.kubernetes.io/unreachable"
operator = "Exists"
effect = "NoExecute"
toleration_seconds = 30

[[kubernetes.tolerations]]
toleration_seconds = 0

[[kubernetes.tolerations]]

[kubernetes.sysctls]
"net.core.somaxconn" = "100000"
"net.ipv4.tcp_tw_reuse" = "1"

[kubernetes.env]
GOGC = "off"
RUST_LOG = "info"

[slurm]
partition = "debug"
account = "bench-acct"
nodes = 2
tasks_per_node = 2
time = "1:00:00"
job_name = "ringload-snap"
extra = ["--exclusive", "--gres=gpu:8"]

[mpi]
launcher = "mpirun"
args = ["--oversubscribe", "--bind-to", "none"]
' > "$SPEC" || exit 1
mpirun -np 4 '--oversubscribe' '--bind-to' 'none' "$RINGLOAD" run --spec="$SPEC" --results-dir="$RESULTS"
ranks_rc=$?
"$RINGLOAD" merge -- "$RUN_DIR"
merge_rc=$?
if [ "$merge_rc" -eq 1 ]; then
  # Ranks failed or are missing: still write the report, marked partial, naming them.
  "$RINGLOAD" merge --allow-partial -- "$RUN_DIR"
fi
if [ "$ranks_rc" -ne 0 ] || [ "$merge_rc" -ne 0 ]; then
  echo "ringload: the run failed (ranks exited $ranks_rc, merge exited $merge_rc); the merge report names the failed ranks" >&2
  exit 1
fi
echo "ringload: report in $RUN_DIR (summary.txt, summary.json, report.html)"
