#!/usr/bin/env bash
# Memory of the published composer while OpenCTI sends connector listings far over listing_max_size: the OpenCTI
# stand-in (tests/Composer.StandIns) lists one connector (requested stopped, as a catalog add: deployed as a created
# container of the test image), composer lists every second; then the listing is padded (listing-shape, in contract
# values) to each size given and composer is watched for a while at each: VmRSS sampled every second, the refused
# listings counted in its log. Nothing changes while the listing is refused. Cleans up what it created (processes, temporary directory,
# containers of its manager id), also on failure or Ctrl-C.
#
#   benchmarks/rss-oversized-listing.sh [--sizes "50000000 200000000"] [--seconds S] [-- ENV=VALUE ...]
#
# COMPOSER_LOG_COPY=path keeps composer's log there. ENV=VALUE pairs after -- are passed to composer (e.g. OPENCTI__LISTING_MAX_SIZE=...). Needs: the engine at
# /var/run/docker.sock (composer checks its orchestrator), out/composer (COMPOSER_BINARY=path for another binary),
# the .NET SDK (builds the stand-in), openssl, python3. Prints one line per phase and a final summary line
# "phase=... rss_max_kb=... hwm_kb=... refused=..." per phase.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT"
# shellcheck source=../scripts/stack.sh
source "$REPO_ROOT/scripts/stack.sh"
# shellcheck source=bench-lib.sh
source "$REPO_ROOT/benchmarks/bench-lib.sh"

sizes="50000000 200000000"
seconds=60
extra_env=()
while [ $# -gt 0 ]; do
    case "$1" in
        --sizes) sizes="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --) shift; extra_env=("$@"); break ;;
        *) echo "usage: $0 [--sizes \"BYTES ...\"] [--seconds S] [-- ENV=VALUE ...]" >&2; exit 2 ;;
    esac
done

bench_require_composer rss

run_id="bench$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
manager_id="$run_id-manager"
work="$(mktemp -d)"
composer_pid="" standin_pid=""

say() { printf '[rss-listing] %s\n' "$*" >&2; }

cleanup() {
    set +e
    bench_stop "$composer_pid"
    bench_stop "$standin_pid"
    bench_remove_containers "$manager_id"
    if [ -n "${COMPOSER_LOG_COPY:-}" ] && [ -f "$work/composer.log" ]; then cp "$work/composer.log" "$COMPOSER_LOG_COPY"; fi
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

docker info >/dev/null 2>&1 || { echo "rss: no Docker engine answers at /var/run/docker.sock" >&2; exit 1; }
build_test_image

say "building the OpenCTI stand-in"
dotnet build "$REPO_ROOT/tests/Composer.StandIns" -c Release -v q -nologo > "$work/standin-build.log" 2>&1 \
    || { tail -n 20 "$work/standin-build.log" >&2; exit 1; }

# One connector, requested stopped: the padding goes into its contract.
cat > "$work/connectors.json" <<EOF
[{"id": "00000000-0000-0000-0000-000000000001", "name": "$run_id padded", "image": "$STACK_TEST_IMAGE",
  "hash": "hash-1", "requested_status": "stopped", "configuration": [{"key": "CONNECTOR_LOG_LEVEL", "value": "info"}]}]
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

control() { # METHOD PATH [JSON]
    python3 - "$1" "http://127.0.0.1:$port/_standin/$2" "${3:-}" <<'EOF'
import sys, urllib.request
method, url, body = sys.argv[1], sys.argv[2], sys.argv[3]
request = urllib.request.Request(url, method=method, data=body.encode() if body else None,
                                 headers={"Content-Type": "application/json"} if body else {})
print(urllib.request.urlopen(request).read().decode())
EOF
}

openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$work/manager-key.pem" 2>/dev/null
mkdir -p "$work/config"
cp "$REPO_ROOT/config/default.yaml" "$work/config/default.yaml"
cat > "$work/config/bench.yaml" <<EOF
manager:
  id: $manager_id
  execute_schedule: 1
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

say "starting composer (manager $manager_id)"
bench_start_composer
for _ in $(seq 1 600); do
    control GET state | grep -q "\"id\":\"$manager_id\"" && break
    kill -0 "$composer_pid" 2>/dev/null || { say "composer exited:"; tail -n 20 "$work/composer.log" >&2; exit 1; }
    sleep 0.1
done

kb() { awk -v f="$1:" '$1 == f { print $2 }' "/proc/$composer_pid/status"; }

# Samples VmRSS every second for $seconds; prints "max median" in kB.
sample() {
    local samples=()
    for _ in $(seq 1 "$seconds"); do
        kill -0 "$composer_pid" 2>/dev/null || { say "composer exited:"; tail -n 20 "$work/composer.log" >&2; exit 1; }
        samples+=("$(kb VmRSS)")
        sleep 1
    done
    printf '%s\n' "${samples[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[NR], a[int((NR + 1) / 2)] }'
}

refused() { grep -c 'is larger than allowed' "$work/composer.log" || true; }

read -r max median <<< "$(sample)"
say "baseline (1 connector listed): VmRSS max $max kB, median $median kB; VmHWM $(kb VmHWM) kB"
echo "phase=baseline rss_max_kb=$max rss_median_kb=$median hwm_kb=$(kb VmHWM) refused=0"

for size in $sizes; do
    before="$(refused)"
    control PUT listing-shape "{\"pad_bytes\": $size, \"pad_as\": \"value\"}" > /dev/null
    read -r max median <<< "$(sample)"
    count=$(( $(refused) - before ))
    say "listing padded to $size bytes: $count listings refused in ${seconds} s; VmRSS max $max kB, median $median kB; VmHWM $(kb VmHWM) kB"
    echo "phase=pad-$size rss_max_kb=$max rss_median_kb=$median hwm_kb=$(kb VmHWM) refused=$count"
done

control DELETE listing-shape > /dev/null
read -r max median <<< "$(sample)"
say "after (listing back to normal): VmRSS max $max kB, median $median kB; VmHWM $(kb VmHWM) kB"
echo "phase=after rss_max_kb=$max rss_median_kb=$median hwm_kb=$(kb VmHWM) refused=0"
