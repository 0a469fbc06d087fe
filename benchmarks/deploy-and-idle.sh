#!/usr/bin/env bash
# Two measurements of `composer run` against the real Docker engine and the OpenCTI stand-in, each beside its
# alternatives in the same run (results in benchmarks/README.md, "Lanes and events (issue 16), and API calls per
# idle cycle", parts 3 and 4):
#   1. CONNECTORS connectors deployed from nothing with the image present, four columns per round (order rotating):
#      the binary under test, the polling build (POLLING_BINARY, skipped when unset), the engine's floor (the same
#      create and start calls by benchmarks/DockerFloor at the same parallelism, manager.max_parallel = 4, nothing
#      else) and `docker run -d` xCONNECTORS by the CLI one after another. Times come from the engine's own record
#      of each container (Created, State.StartedAt): from the process's start, and from the first create to the last
#      start (the engine's part).
#   2. API calls per idle cycle with CONNECTORS converged connectors, for each binary, from its own /metrics counters
#      (composer_api_calls_total by channel, over composer_cycle_duration_seconds_count), with the platform's own
#      record of what arrived (health, status, log reports, pings) over the same window: nothing due (stopped
#      connectors, logs_schedule 3600 s), running with health due (logs_schedule 3600 s, HEALTH_WINDOW seconds: at
#      least one health period of the binary, 240 s for the new one), running with log uploads every 10 s.
#   3. (PARTS="calls" only) the engine requests of each binary deploying CONNECTORS from nothing, by kind (full
#      listings, inspects, creates, starts...), counted by a relay on a socket of its own
#      (benchmarks/count-engine-requests.py) until all run and CALLS_SETTLE (15) seconds more.
# Needs root (a Docker engine at /var/run/docker.sock or one it starts), the published out/composer, the .NET SDK and
# python3 (part 3).
#
#   bash benchmarks/deploy-and-idle.sh            # ROUNDS=3 CONNECTORS=100 WINDOW=60 HEALTH_WINDOW=240
#   POLLING_BINARY=/tmp/polling-build/out/composer bash benchmarks/deploy-and-idle.sh
#   PARTS="deploy" or PARTS="idle" runs one part only; PARTS="calls" the request count.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# shellcheck source=../scripts/stack.sh
source scripts/stack.sh
# shellcheck source=bench-lib.sh
source benchmarks/bench-lib.sh

ROUNDS="${ROUNDS:-3}"
CONNECTORS="${CONNECTORS:-100}"
WINDOW="${WINDOW:-60}"
HEALTH_WINDOW="${HEALTH_WINDOW:-240}"
PARTS="${PARTS:-deploy idle}"
PARALLEL=4 # manager.max_parallel's default: Composer's bound, and the floor's
PORT="${BENCH_PLATFORM_PORT:-4077}"
HEALTH_PORT="${BENCH_HEALTH_PORT:-8097}"
TOKEN="bench-token"
MANAGER="bench-manager"
IMAGE="$STACK_CONNECTOR_IMAGE"
STATE="$STACK_STATE_DIR/bench"
mkdir -p "$STATE"

bench_require_composer deploy-and-idle
NEW_BINARY="$composer"
POLLING_BINARY="${POLLING_BINARY:-}"
if [ -n "$POLLING_BINARY" ] && [ ! -x "$POLLING_BINARY" ]; then echo "POLLING_BINARY=$POLLING_BINARY is not an executable" >&2; exit 1; fi

start_dockerd
build_connector_image
dotnet build tests/Composer.StandIns -c Release > "$STATE/standin-build.log" 2>&1
dotnet build benchmarks/DockerFloor -c Release > "$STATE/floor-build.log" 2>&1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$STATE/key.pem" 2>/dev/null

export DOCKER_HOST="unix://$STACK_DOCKER_SOCKET"
remove_all() {
    local ids
    ids="$(docker ps -aq --filter "label=bench.composer=1"; docker ps -aq --filter "label=opencti-manager=$MANAGER")"
    if [ -n "$ids" ]; then echo "$ids" | xargs docker rm -f >/dev/null; fi
}
now() { date +%s.%N; }
cleanup() { stack_stop bench-composer; remove_all; stack_stop bench-platform; }
trap cleanup EXIT

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

start_platform() { bench_start_standin bench-platform "$PORT" "$STATE/connectors.json" "$TOKEN"; }

run_composer() {
    local binary="$1" logs_schedule="$2"
    stack_stop bench-composer
    stack_spawn bench-composer env -i PATH="$PATH" HOME="$HOME" \
        MANAGER__ID="$MANAGER" MANAGER__CREDENTIALS_KEY_FILEPATH="$STATE/key.pem" MANAGER__EXECUTE_SCHEDULE=10 \
        MANAGER__LOGGER__LEVEL=warn MANAGER__HEALTH__ENABLE=true MANAGER__HEALTH__LISTEN="127.0.0.1:$HEALTH_PORT" \
        OPENCTI__URL="http://127.0.0.1:$PORT" OPENCTI__TOKEN="$TOKEN" OPENCTI__DAEMON__SELECTOR=docker \
        OPENCTI__LOGS_SCHEDULE="$logs_schedule" DOCKER_HOST="$DOCKER_HOST" \
        "$binary" --config-dir "$(bench_config_dir "$binary")" run || true
}

# Waits (up to 600 s) until CONNECTORS containers of label $1 run; prints "<seconds since $2> <seconds from the first
# create to the last start>", from the engine's own timestamps of each container (Created, State.StartedAt: nothing
# is lost, unlike an events subscription, whose replay buffer other users of the engine can overrun).
wait_started() {
    local label="$1" t0="$2" i
    for i in $(seq 1 1200); do
        [ "$(docker ps -q --filter "label=$label" --filter status=running | wc -l)" -ge "$CONNECTORS" ] && break
        sleep 0.5
    done
    # shellcheck disable=SC2046
    docker inspect --format '{{.Created}} {{.State.StartedAt}}' $(docker ps -aq --filter "label=$label") | python3 -c '
import sys
from datetime import datetime
def seconds(t):  # RFC 3339 with nanoseconds, UTC
    whole, _, frac = t.rstrip("Z").partition(".")
    return datetime.strptime(whole, "%Y-%m-%dT%H:%M:%S").replace(tzinfo=__import__("datetime").timezone.utc).timestamp() + float("0." + (frac or "0"))
t0, n = float(sys.argv[1]), int(sys.argv[2])
rows = [line.split() for line in sys.stdin if line.strip()]
starts = sorted(seconds(s) for _, s in rows if not s.startswith("0001"))
if len(starts) < n: print("timeout timeout"); sys.exit()
print("%.2f %.2f" % (starts[n - 1] - t0, starts[n - 1] - min(seconds(c) for c, _ in rows)))
' "$t0" "$CONNECTORS"
}

deploy_composer() {
    local binary="$1" t0 result
    remove_all
    connectors_file starting > "$STATE/connectors.json"
    start_platform
    t0="$(now)"
    run_composer "$binary" 3600
    result="$(wait_started "opencti-manager=$MANAGER" "$t0")"
    stack_stop bench-composer
    echo "$result"
}

deploy_floor() {
    local t0 result
    remove_all
    t0="$(now)"
    dotnet benchmarks/DockerFloor/bin/Release/net10.0/DockerFloor.dll --socket "$STACK_DOCKER_SOCKET" --image "$IMAGE" \
        --manager bench-floor --label bench.composer=1 --count "$CONNECTORS" --parallel "$PARALLEL" > "$STATE/floor.out"
    result="$(wait_started bench.composer=1 "$t0")"
    echo "$result"
}

deploy_cli() {
    local t0 result i
    remove_all
    t0="$(now)"
    for i in $(seq 1 "$CONNECTORS"); do
        docker run -d --label bench.composer=1 --restart unless-stopped --name "bench-cli-$i" "$IMAGE" >/dev/null
    done
    result="$(wait_started bench.composer=1 "$t0")"
    echo "$result"
}

ratio() { if [[ "$1" =~ ^[0-9.]+$ && "$2" =~ ^[0-9.]+$ ]]; then printf '%.2f' "$(echo "$1 / $2" | bc -l)"; else printf -- '-'; fi; }

if [[ " $PARTS " == *" deploy "* ]]; then
    echo "== 1. $CONNECTORS connectors from nothing, image present ($ROUNDS rounds, order rotating; seconds: from the process's start / first create to last start)"
    columns=(new floor cli)
    if [ -n "$POLLING_BINARY" ]; then columns=(new polling floor cli); fi
    for round in $(seq 1 "$ROUNDS"); do
        declare -A total=() engine=()
        for k in $(seq 0 $((${#columns[@]} - 1))); do
            column="${columns[$(((k + round - 1) % ${#columns[@]}))]}"
            case "$column" in
                new) read -r t e < <(deploy_composer "$NEW_BINARY") ;;
                polling) read -r t e < <(deploy_composer "$POLLING_BINARY") ;;
                floor) read -r t e < <(deploy_floor) ;;
                cli) read -r t e < <(deploy_cli) ;;
            esac
            total[$column]="$t"; engine[$column]="$e"
        done
        line="round $round (load $(cut -d' ' -f1-3 /proc/loadavg)):"
        for column in "${columns[@]}"; do line="$line $column ${total[$column]} / ${engine[$column]} s;"; done
        echo "$line new/floor $(ratio "${total[new]}" "${total[floor]}") (engine part $(ratio "${engine[new]}" "${engine[floor]}")), new/cli $(ratio "${total[new]}" "${total[cli]}")"
        unset total engine
    done
    remove_all
fi

metric() {
    # Sum of a counter's samples whose labels contain $2 (or all), from /metrics.
    curl -fsS "http://127.0.0.1:$HEALTH_PORT/metrics" | awk -v name="$1" -v want="${2:-}" \
        '$1 ~ "^"name"({|$)" && index($1, want) { sum += $2 } END { printf "%d\n", sum }'
}
# What the stand-in received so far: "<health reports> <status reports> <log reports> <pings> <listings and other calls>".
platform_counts() {
    curl -fsS "http://127.0.0.1:$PORT/_standin/state" | jq -r '"\(.health_reports | length) \(.status_reports | length) \(.log_reports | length) \(.pings)"'
}

idle_window() {
    local binary="$1" logs_schedule="$2" requested="$3" window="$4" label="$5"
    remove_all
    connectors_file "$requested" > "$STATE/connectors.json"
    start_platform
    run_composer "$binary" "$logs_schedule"
    until [ "$(docker ps -aq --filter "label=opencti-manager=$MANAGER" | wc -l)" -ge "$CONNECTORS" ]; do sleep 0.5; done
    # Let the deploy's reports settle, then count over the window.
    sleep 25
    local cycles0 cti0 docker0 cycles1 cti1 docker1 h0 s0 l0 p0 h1 s1 l1 p1
    cycles0="$(metric composer_cycle_duration_seconds_count)"; cti0="$(metric composer_api_calls_total 'channel="opencti"')"; docker0="$(metric composer_api_calls_total 'channel="docker"')"
    read -r h0 s0 l0 p0 < <(platform_counts)
    sleep "$window"
    cycles1="$(metric composer_cycle_duration_seconds_count)"; cti1="$(metric composer_api_calls_total 'channel="opencti"')"; docker1="$(metric composer_api_calls_total 'channel="docker"')"
    read -r h1 s1 l1 p1 < <(platform_counts)
    local cycles=$((cycles1 - cycles0))
    printf '%s: %d cycles in %d s; per cycle: opencti %.2f calls, docker %.2f calls; in the window: %d health, %d status, %d log reports, %d pings (load %s)\n' \
        "$label" "$cycles" "$window" "$(echo "($cti1 - $cti0) / $cycles" | bc -l)" "$(echo "($docker1 - $docker0) / $cycles" | bc -l)" \
        $((h1 - h0)) $((s1 - s0)) $((l1 - l0)) $((p1 - p0)) "$(cut -d' ' -f1-3 /proc/loadavg)"
    stack_stop bench-composer
}

if [[ " $PARTS " == *" idle "* ]]; then
    echo "== 2. API calls per idle cycle ($CONNECTORS connectors, execute_schedule 10 s)"
    # BINARIES="new", "polling" or both (the default).
    binaries=()
    if [[ " ${BINARIES:-new polling} " == *" new "* ]]; then binaries+=("new=$NEW_BINARY"); fi
    if [ -n "$POLLING_BINARY" ] && [[ " ${BINARIES:-new polling} " == *" polling "* ]]; then binaries+=("polling=$POLLING_BINARY"); fi
    for entry in "${binaries[@]}"; do
        name="${entry%%=*}"; binary="${entry#*=}"
        idle_window "$binary" 3600 stopping "$WINDOW" "$name: $CONNECTORS stopped connectors, nothing due"
        idle_window "$binary" 3600 starting "$HEALTH_WINDOW" "$name: $CONNECTORS running, health due (logs_schedule 3600 s)"
        idle_window "$binary" 10 starting "$WINDOW" "$name: $CONNECTORS running, health and logs every 10 s"
    done
fi

# Counts the engine requests of one binary deploying CONNECTORS from nothing, by kind: its traffic alone goes through
# a counting relay socket of its own (benchmarks/count-engine-requests.py; the CLI's `docker ps` of the wait does not),
# from its start until all run and CALLS_SETTLE seconds more (the status and health reports of the re-plans after the
# deploys).
calls_composer() {
    local binary="$1" relay="$STATE/relay.sock" counts="$STATE/relay.counts" t0 relay_pid i
    remove_all
    connectors_file starting > "$STATE/connectors.json"
    start_platform
    rm -f "$relay" "$counts"
    python3 benchmarks/count-engine-requests.py "$relay" "$STACK_DOCKER_SOCKET" "$counts" &
    relay_pid=$!
    for i in $(seq 1 100); do [ -S "$relay" ] && break; sleep 0.1; done
    t0="$(now)"
    DOCKER_HOST="unix://$relay" run_composer "$binary" 3600
    wait_started "opencti-manager=$MANAGER" "$t0" > /dev/null
    sleep "${CALLS_SETTLE:-15}"
    stack_stop bench-composer
    kill -TERM "$relay_pid"; wait "$relay_pid" || true
    sed 's/^/    /' "$counts"
}

if [[ " $PARTS " == *" calls "* ]]; then
    echo "== 3. Engine requests while deploying $CONNECTORS from nothing (until all run + ${CALLS_SETTLE:-15} s), by kind"
    binaries=()
    if [[ " ${BINARIES:-new polling} " == *" new "* ]]; then binaries+=("new=$NEW_BINARY"); fi
    if [ -n "$POLLING_BINARY" ] && [[ " ${BINARIES:-new polling} " == *" polling "* ]]; then binaries+=("polling=$POLLING_BINARY"); fi
    for entry in "${binaries[@]}"; do
        name="${entry%%=*}"; binary="${entry#*=}"
        echo "  $name (load $(cut -d' ' -f1-3 /proc/loadavg)):"
        calls_composer "$binary"
    done
fi
