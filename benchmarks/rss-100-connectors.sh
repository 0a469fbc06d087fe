#!/usr/bin/env bash
# Steady RSS of the published composer managing 100 connectors: the OpenCTI stand-in (tests/Composer.StandIns)
# lists 100 connectors of a busybox "connector" image, composer runs them as containers of the real Docker engine,
# and once all 100 run (convergence) VmRSS is sampled once a second for a minute. Cleans up everything it created
# (containers, image tag, processes, temporary directory), also on failure or Ctrl-C.
#
#   benchmarks/rss-100-connectors.sh [--connectors N] [--seconds S] [--smaps FILE] [-- ENV=VALUE ...]
#
# --smaps FILE keeps composer's /proc/<pid>/smaps at the end of the measure (where the resident memory is).
# ENV=VALUE pairs after -- are passed to composer (e.g. DOTNET_GCHeapHardLimit=0x2000000 to try a GC setting).
# Needs: root or docker access, the engine at /var/run/docker.sock, out/composer (COMPOSER_BINARY=path for another
# binary), the .NET SDK (builds the stand-in), openssl. Prints one summary line per measure and a final
# "rss_median_kb=... rss_max_kb=..." line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT"
# shellcheck source=../scripts/stack.sh
source "$REPO_ROOT/scripts/stack.sh"
# shellcheck source=bench-lib.sh
source "$REPO_ROOT/benchmarks/bench-lib.sh"

connectors=100
seconds=60
extra_env=()
smaps_file=""
while [ $# -gt 0 ]; do
    case "$1" in
        --connectors) connectors="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --smaps) smaps_file="$2"; shift 2 ;;
        --) shift; extra_env=("$@"); break ;;
        *) echo "usage: $0 [--connectors N] [--seconds S] [--smaps FILE] [-- ENV=VALUE ...]" >&2; exit 2 ;;
    esac
done

bench_require_composer rss

run_id="bench$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
manager_id="$run_id-manager"
image="composer-bench/connector:$run_id"
work="$(mktemp -d)"
composer_pid="" standin_pid=""

say() { printf '[rss] %s\n' "$*" >&2; }

cleanup() {
    set +e
    bench_stop "$composer_pid"
    bench_stop "$standin_pid"
    bench_remove_containers "$manager_id"
    docker image rm "$image" >/dev/null 2>&1
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

docker info >/dev/null 2>&1 || { echo "rss: no Docker engine answers at /var/run/docker.sock" >&2; exit 1; }

# The connector: a shell loop printing a line every 10 s (logs to read, like a real connector), on the busybox base.
build_test_image
mkdir -p "$work/image"
cat > "$work/image/connector" <<'EOF'
#!/bin/sh
trap 'exit 0' TERM INT
echo "connector started: ${CONNECTOR_ID:-unknown}"
i=0
while true; do i=$((i + 1)); echo "tick $i"; sleep 10; done
EOF
chmod 755 "$work/image/connector"
printf 'FROM %s\nCOPY connector /bin/connector\nCMD ["/bin/connector"]\n' "$STACK_TEST_IMAGE" > "$work/image/Dockerfile"
docker build -q -t "$image" "$work/image" >/dev/null
say "image $image built"

say "building the OpenCTI stand-in"
dotnet build "$REPO_ROOT/tests/Composer.StandIns" -c Release -v q -nologo > "$work/standin-build.log" 2>&1 \
    || { tail -n 20 "$work/standin-build.log" >&2; exit 1; }

# 100 connectors, each with a few contract entries (as a real contract has), requested to run.
python3 - "$connectors" "$run_id" "$image" > "$work/connectors.json" <<'EOF'
import json, sys, uuid
n, run, image = int(sys.argv[1]), sys.argv[2], sys.argv[3]
print(json.dumps([{
    "id": str(uuid.UUID(int=i + 1)),
    "name": f"{run} {i:03d}",
    "image": image,
    "hash": f"hash-{i}",
    "requested_status": "starting",
    "configuration": [
        {"key": "CONNECTOR_LOG_LEVEL", "value": "info"},
        {"key": "CONNECTOR_SCOPE", "value": "indicator,report"},
        {"key": "CONNECTOR_DURATION_PERIOD", "value": "PT1H"},
    ],
} for i in range(n)]))
EOF

port="$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')"
dotnet "$REPO_ROOT/tests/Composer.StandIns/bin/Release/net10.0/Composer.StandIns.dll" opencti --port "$port" \
    --connectors "$work/connectors.json" > "$work/standin.log" 2>&1 &
standin_pid=$!
for _ in $(seq 1 300); do
    grep -q 'listening' "$work/standin.log" 2>/dev/null && break
    kill -0 "$standin_pid" 2>/dev/null || { cat "$work/standin.log" >&2; exit 1; }
    sleep 0.1
done

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$work/manager-key.pem" 2>/dev/null
mkdir -p "$work/config"
cp "$REPO_ROOT/config/default.yaml" "$work/config/default.yaml"
cat > "$work/config/bench.yaml" <<EOF
manager:
  id: $manager_id
  credentials_key_filepath: $work/manager-key.pem
  logger:
    level: warn
opencti:
  url: http://127.0.0.1:$port
  token: standin-token-7c1e
  daemon:
    selector: docker
    docker:
      network_mode: none
EOF

say "starting composer with $connectors connectors (manager $manager_id)"
bench_start_composer
bench_wait_running "$manager_id" "$connectors" 600
say "converged: $running containers running after $((SECONDS - started)) s; VmRSS at convergence $(awk '/VmRSS/ {print $2}' "/proc/$composer_pid/status") kB"

# A minute of steady state: cycles every 10 s, pings, logs and health reports for every connector.
cpu_ticks() { awk '{ print $14 + $15 }' "/proc/$composer_pid/stat"; }
cpu_before="$(cpu_ticks)"
samples=()
for _ in $(seq 1 "$seconds"); do
    samples+=("$(awk '/VmRSS/ {print $2}' "/proc/$composer_pid/status")")
    sleep 1
done
cpu_ms=$(( ($(cpu_ticks) - cpu_before) * 1000 / $(getconf CLK_TCK) ))
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$composer_pid/status")"
anon="$(awk '/RssAnon/ {print $2}' "/proc/$composer_pid/status")"
file="$(awk '/RssFile/ {print $2}' "/proc/$composer_pid/status")"
if [ -n "$smaps_file" ]; then cp "/proc/$composer_pid/smaps" "$smaps_file"; fi
threads="$(awk '/Threads/ {print $2}' "/proc/$composer_pid/status")"
sorted="$(printf '%s\n' "${samples[@]}" | sort -n)"
min="$(echo "$sorted" | head -n1)"
max="$(echo "$sorted" | tail -n1)"
median="$(echo "$sorted" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
errors="$(grep -c '"level":"error"' "$work/composer.log" || true)"
say "VmRSS over ${seconds} s: min $min kB, median $median kB, max $max kB; VmHWM $hwm kB; at the end RssAnon $anon kB, RssFile $file kB; $threads threads; ${cpu_ms} ms CPU; $errors error line(s)"
running="$(docker ps -q --filter "label=opencti-manager=$manager_id" --filter status=running | wc -l)"
say "$running containers still running"
echo "rss_median_kb=$median rss_max_kb=$max rss_min_kb=$min hwm_kb=$hwm anon_kb=$anon file_kb=$file threads=$threads cpu_ms=$cpu_ms"
