#!/usr/bin/env bash
# RSS of the published composer while connectors log without pause: the OpenCTI stand-in (tests/Composer.StandIns)
# lists N connectors of the test connector image (composer-test/connector:2) in flood mode (FLOOD=1: lines of
# FLOOD_LINE_BYTES bytes printed as fast as the shell can; the second one also floods stderr and writes control
# characters and invalid UTF-8), composer runs them on the real Docker engine and reads and uploads their logs every
# cycle, and VmRSS of composer is sampled once a second. Cleans up everything it created (containers, processes,
# temporary directory), also on failure or Ctrl-C; the connector image is left for the tests, which use it too.
#
#   benchmarks/rss-log-flood.sh [--connectors N] [--seconds S] [--line-bytes B] [-- ENV=VALUE ...]
#
# ENV=VALUE pairs after -- are passed to composer (e.g. MANAGER__LOGS__MAX_BYTES=1048576 to try other limits).
# Needs: root or docker access, the engine at /var/run/docker.sock, out/composer (COMPOSER_BINARY=path for another
# binary), the .NET SDK (builds the stand-in), openssl. Prints a final "rss_median_kb=... rss_max_kb=... hwm_kb=..."
# line.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT"
# shellcheck source=../scripts/stack.sh
source "$REPO_ROOT/scripts/stack.sh"
# shellcheck source=bench-lib.sh
source "$REPO_ROOT/benchmarks/bench-lib.sh"

connectors=2
seconds=120
line_bytes=1000
extra_env=()
while [ $# -gt 0 ]; do
    case "$1" in
        --connectors) connectors="$2"; shift 2 ;;
        --seconds) seconds="$2"; shift 2 ;;
        --line-bytes) line_bytes="$2"; shift 2 ;;
        --) shift; extra_env=("$@"); break ;;
        *) echo "usage: $0 [--connectors N] [--seconds S] [--line-bytes B] [-- ENV=VALUE ...]" >&2; exit 2 ;;
    esac
done

bench_require_composer flood

run_id="flood$(head -c4 /dev/urandom | od -An -tx1 | tr -d ' \n')"
manager_id="$run_id-manager"
work="$(mktemp -d)"
composer_pid="" standin_pid=""

say() { printf '[flood] %s\n' "$*" >&2; }

cleanup() {
    set +e
    bench_stop "$composer_pid"
    bench_stop "$standin_pid"
    bench_remove_containers "$manager_id"
    rm -rf "$work"
}
trap cleanup EXIT INT TERM

docker info >/dev/null 2>&1 || { echo "flood: no Docker engine answers at /var/run/docker.sock" >&2; exit 1; }
build_connector_image

say "building the OpenCTI stand-in"
dotnet build "$REPO_ROOT/tests/Composer.StandIns" -c Release -v q -nologo > "$work/standin-build.log" 2>&1 \
    || { tail -n 20 "$work/standin-build.log" >&2; exit 1; }

# Flooding connectors; every second one also floods stderr with control characters and invalid UTF-8.
python3 - "$connectors" "$run_id" "$STACK_CONNECTOR_IMAGE" "$line_bytes" > "$work/connectors.json" <<'PY'
import json, sys, uuid
n, run, image, line_bytes = int(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
def configuration(i):
    entries = [{"key": "FLOOD", "value": "1"}, {"key": "FLOOD_LINE_BYTES", "value": line_bytes}]
    if i % 2 == 1:
        entries += [{"key": "FLOOD_STDERR", "value": "1"}, {"key": "FLOOD_CONTROL", "value": "1"}]
    return entries
print(json.dumps([{
    "id": str(uuid.UUID(int=i + 1)),
    "name": f"{run} {i:03d}",
    "image": image,
    "hash": f"hash-{i}",
    "requested_status": "starting",
    "configuration": configuration(i),
} for i in range(n)]))
PY

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
cat > "$work/config/bench.yaml" <<YAML
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
YAML

say "starting composer with $connectors flooding connector(s) (manager $manager_id)"
bench_start_composer
bench_wait_running "$manager_id" "$connectors" 300
say "flooding: $running container(s) running after $((SECONDS - started)) s"

samples=()
for _ in $(seq 1 "$seconds"); do
    kill -0 "$composer_pid" 2>/dev/null || { say "composer exited:"; tail -n 20 "$work/composer.log" >&2; exit 1; }
    samples+=("$(awk '/VmRSS/ {print $2}' "/proc/$composer_pid/status")")
    sleep 1
done
hwm="$(awk '/VmHWM/ {print $2}' "/proc/$composer_pid/status")"
anon="$(awk '/RssAnon/ {print $2}' "/proc/$composer_pid/status")"
sorted="$(printf '%s\n' "${samples[@]}" | sort -n)"
max="$(echo "$sorted" | tail -n1)"
median="$(echo "$sorted" | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }')"
# How much the engine kept: the json-file bound (max-size 10m, max-file 3) caps each container's log files.
log_bytes=0
for id in $(docker ps -q --filter "label=opencti-manager=$manager_id"); do
    path="$(docker inspect --format '{{.LogPath}}' "$id")"
    [ -n "$path" ] && log_bytes=$((log_bytes + $(du -cb "$path"* 2>/dev/null | awk 'END {print $1}')))
done
errors="$(grep -c '"level":"error"' "$work/composer.log" || true)"
say "VmRSS over ${seconds} s: median $median kB, max $max kB; VmHWM $hwm kB; RssAnon at the end $anon kB; engine log files $((log_bytes / 1024)) kB; $errors error line(s)"
echo "rss_median_kb=$median rss_max_kb=$max hwm_kb=$hwm anon_kb=$anon engine_log_kb=$((log_bytes / 1024))"
