#!/bin/bash
# Rendered by ringload from a run spec: edit the spec and render again rather than this file.
# Run it with `bash run-mpi.sh` (or `sbatch run-mpi.sh` inside Slurm). The MPI launcher starts
# one rank per process (OMPI_COMM_WORLD_RANK or PMIX_RANK); when all ranks end, the results
# are merged and the script fails if any rank failed.
#SBATCH --job-name=ringload-snap-tls
#SBATCH --nodes=2
#SBATCH --ntasks-per-node=1
set -u
RINGLOAD='ringload'
RESULTS='/shared/ringload-results'
RUN_DIR='/shared/ringload-results/snap-tls'
SPEC="$RUN_DIR/run.toml"
if [ -e "$SPEC" ]; then
  echo "ringload: $RUN_DIR already holds a run; run ids are never reused: render with a new [run] id" >&2
  exit 1
fi
mkdir -p -- "$RUN_DIR" || exit 1
printf '%s' '[run]
id = "snap-tls"
ranks = 2
barrier = false
barrier_timeout = "10m"
merge_timeout = "10m"
results_dir = "/shared/ringload-results"
ringload = "ringload"

[target]
protocol = "s3"
endpoint = "https://minio.storage.svc.cluster.local:9000"
bucket = "bench"
tls_ca = "/shared/pki/minio-ca.pem"
tls_cert = "/shared/pki/loader.crt"
tls_key = "/shared/pki/loader.key"

[workload]
duration = "1m"
pctput = 0

[kubernetes]
image = "ghcr.io/acme/ringload:0.1.0"
pull_policy = "IfNotPresent"
namespace = "bench"
one_pod_per_node = true
tolerations = []
results_pvc = "ringload-results"
ttl_seconds_after_finished = 86400
tls_ca_configmap = "minio-ca"
tls_ca_key = "ca-bundle.pem"
tls_client_secret = "ringload-client"

[kubernetes.node_selector]

[kubernetes.resources.requests]

[kubernetes.resources.limits]

[kubernetes.sysctls]

[kubernetes.env]

[slurm]
nodes = 2
tasks_per_node = 1
extra = []

[mpi]
launcher = "srun"
args = []
' > "$SPEC" || exit 1
srun --mpi=pmix --ntasks=2 "$RINGLOAD" run --spec="$SPEC" --results-dir="$RESULTS"
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
