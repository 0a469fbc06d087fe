#!/usr/bin/env bash
# Two measurements of `composer run` against the real Docker engine and the OpenCTI stand-in, each beside its
# alternative in the same run (results in benchmarks/README.md):
#   1. 100 connectors deployed from nothing with the image present: Composer (from start-up until the 100th container
#      runs) against `docker run -d` x100 by the CLI (one after another, as a script would), alternating the order
#      over ROUNDS rounds.
#   2. API calls per idle cycle with 100 converged connectors, from Composer's own /metrics counters: calls per
#      channel divided by the cycles run in the window, with the log and health timers out of the way
#      (logs_schedule longer than the window) and then with them (logs every 10 s, health every 30 s).
# Needs root (a Docker engine at /var/run/docker.sock or one it starts), the published out/composer and the .NET SDK.
#
#   bash benchmarks/deploy-and-idle.sh            # ROUNDS=3 CONNECTORS=100 WINDOW=60
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# shellcheck source=../scripts/stack.sh
source scripts/stack.sh

ROUNDS="${ROUNDS:-3}"
CONNECTORS="${CONNECTORS:-100}"
WINDOW="${WINDOW:-60}"
PORT="${BENCH_PLATFORM_PORT:-4077}"
HEALTH_PORT="${BENCH_HEALTH_PORT:-8097}"
TOKEN="bench-token"
MANAGER="bench-manager"
IMAGE="$STACK_CONNECTOR_IMAGE"
STATE="$STACK_STATE_DIR/bench"
mkdir -p "$STATE"

start_dockerd
build_connector_image
[ -x out/composer ] || { echo "publish first: dotnet publish src/Composer -c Release -o out" >&2; exit 1; }
dotnet build tests/Composer.StandIns -c Release > "$STATE/standin-build.log" 2>&1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$STATE/key.pem" 2>/dev/null

export DOCKER_HOST="unix://$STACK_DOCKER_SOCKET"
remove_all() {
    local ids
    ids="$(docker ps -aq --filter "label=bench.composer=1"; docker ps -aq --filter "label=opencti-manager=$MANAGER")"
    if [ -n "$ids" ]; then echo "$ids" | xargs docker rm -f >/dev/null; fi
}
running_count() { docker ps -q --filter "label=opencti-manager=$MANAGER" --filter status=running | wc -l; }
now() { date +%s.%N; }

connectors_file() {
    # The connectors file: CONNECTORS connectors of the present image, all requested to $1 (starting or stopping).
    local i sep=""
    printf '['
    for i in $(seq 1 "$CONNECTORS"); do
        printf '%s{"id":"bench-%03d","name":"bench connector %03d","image":"%s","hash":"h1","requested_status":"%s","configuration":[{"key":"CONNECTOR_ID","value":"bench-%03d"}]}' \
            "$sep" "$i" "$i" "$IMAGE" "$1" "$i"
        sep=","
    done
    printf ']'
}
connectors_file starting > "$STATE/connectors.json"

start_platform() {
    stack_stop bench-platform
    stack_spawn bench-platform dotnet tests/Composer.StandIns/bin/Release/net10.0/Composer.StandIns.dll opencti \
        --port "$PORT" --token "$TOKEN" --connectors "$STATE/connectors.json" || true
    stack_wait_port "$PORT" bench-platform
}

run_composer() {
    local logs_schedule="$1"
    stack_stop bench-composer
    stack_spawn bench-composer env -i PATH="$PATH" HOME="$HOME" \
        MANAGER__ID="$MANAGER" MANAGER__CREDENTIALS_KEY_FILEPATH="$STATE/key.pem" MANAGER__EXECUTE_SCHEDULE=10 \
        MANAGER__LOGGER__LEVEL=warn MANAGER__HEALTH__ENABLE=true MANAGER__HEALTH__LISTEN="127.0.0.1:$HEALTH_PORT" \
        OPENCTI__URL="http://127.0.0.1:$PORT" OPENCTI__TOKEN="$TOKEN" OPENCTI__DAEMON__SELECTOR=docker \
        OPENCTI__LOGS_SCHEDULE="$logs_schedule" DOCKER_HOST="$DOCKER_HOST" \
        ./out/composer --config-dir config run || true
}

composer_deploy() {
    remove_all
    start_platform
    local t0 t1
    t0="$(now)"
    run_composer 3600
    until [ "$(running_count)" -ge "$CONNECTORS" ]; do sleep 0.05; done
    t1="$(now)"
    stack_stop bench-composer
    echo "$t1 - $t0" | bc
}

cli_deploy() {
    remove_all
    local t0 t1 i
    t0="$(now)"
    for i in $(seq 1 "$CONNECTORS"); do
        docker run -d --network none --label bench.composer=1 --name "bench-cli-$i" "$IMAGE" >/dev/null
    done
    t1="$(now)"
    echo "$t1 - $t0" | bc
}

echo "== 1. $CONNECTORS connectors from nothing, image present ($ROUNDS rounds, order alternating)"
for round in $(seq 1 "$ROUNDS"); do
    if [ $((round % 2)) -eq 1 ]; then c="$(composer_deploy)"; d="$(cli_deploy)"; else d="$(cli_deploy)"; c="$(composer_deploy)"; fi
    printf 'round %d: composer %.2f s, docker run -d x%d %.2f s, ratio %.2f\n' "$round" "$c" "$CONNECTORS" "$d" "$(echo "$c / $d" | bc -l)"
done

metric() {
    # Sum of a counter's samples whose labels contain $2 (or all), from /metrics.
    curl -fsS "http://127.0.0.1:$HEALTH_PORT/metrics" | awk -v name="$1" -v want="${2:-}" \
        '$1 ~ "^"name"({|$)" && index($1, want) { sum += $2 } END { printf "%d\n", sum }'
}

idle_window() {
    local logs_schedule="$1" requested="$2" label="$3"
    remove_all
    connectors_file "$requested" > "$STATE/connectors.json"
    start_platform
    run_composer "$logs_schedule"
    until [ "$(docker ps -aq --filter "label=opencti-manager=$MANAGER" | wc -l)" -ge "$CONNECTORS" ]; do sleep 0.2; done
    # Let the deploy cycle's reports settle, then count over the window.
    sleep 25
    local cycles0 cti0 docker0 cycles1 cti1 docker1
    cycles0="$(metric composer_cycle_duration_seconds_count)"; cti0="$(metric composer_api_calls_total 'channel="opencti"')"; docker0="$(metric composer_api_calls_total 'channel="docker"')"
    sleep "$WINDOW"
    cycles1="$(metric composer_cycle_duration_seconds_count)"; cti1="$(metric composer_api_calls_total 'channel="opencti"')"; docker1="$(metric composer_api_calls_total 'channel="docker"')"
    local cycles=$((cycles1 - cycles0))
    printf '%s: %d cycles in %d s; per cycle: opencti %.2f calls, docker %.2f calls (%d connectors)\n' "$label" "$cycles" "$WINDOW" \
        "$(echo "($cti1 - $cti0) / $cycles" | bc -l)" "$(echo "($docker1 - $docker0) / $cycles" | bc -l)" "$CONNECTORS"
    stack_stop bench-composer
}

echo "== 2. API calls per idle cycle"
idle_window 3600 stopping "idle: $CONNECTORS stopped connectors, nothing due"
idle_window 3600 starting "running, health every 30 s per connector (logs_schedule 3600 s)"
idle_window 10 starting "running, health every 30 s and logs every 10 s per connector"

remove_all
stack_stop bench-platform
