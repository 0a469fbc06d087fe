#!/usr/bin/env bash
# Issue 16's lanes and events, measured with `composer run` against the real Docker engine and the OpenCTI stand-in,
# the binary under test (out/composer or COMPOSER_BINARY) beside the polling build (POLLING_BINARY, skipped when
# unset) in the same run (results in benchmarks/README.md, "Lanes and events (issue 16), and API calls per idle cycle", parts 1 and 2):
#   1. A registry that never answers (a TCP listener that accepts and never replies) holding one connector's image,
#      and OTHERS (20) connectors of a present image, all requested started, deployed from nothing. The other
#      connectors' start times (the engine's `start` events) are set beside a run without the held connector (the
#      delay of the k-th start, k = 1..OTHERS). Once they run, a stop request for one of them (the stand-in's stop
#      button): the time until the engine's `kill` event of its container (Composer's stop acted on) and until the
#      stand-in records its "stopped" status.
#   2. KILLS times `docker kill` of a running connector (CONNECTORS_KILLED of them, in turn): the time from just before
#      the kill until the stand-in has received, after it, a status report and a health report of that connector (the
#      stand-in records when each report arrives). Median and max.
# Needs root (a Docker engine at /var/run/docker.sock or one it starts), the published binaries, the .NET SDK, jq and
# python3 (the silent registry).
#
#   POLLING_BINARY=/tmp/polling-build/out/composer bash benchmarks/lanes-and-events.sh    # OTHERS=20 KILLS=6
#   PARTS="lanes" or PARTS="kills" runs one part only.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT" DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# shellcheck source=../scripts/stack.sh
source scripts/stack.sh
# shellcheck source=bench-lib.sh
source benchmarks/bench-lib.sh

OTHERS="${OTHERS:-20}"
KILLS="${KILLS:-6}"
CONNECTORS_KILLED="${CONNECTORS_KILLED:-3}"
PARTS="${PARTS:-lanes kills}"
EXECUTE_SCHEDULE=10
# Longest wait for one thing to happen: the polling build's stop waits for the held connector's whole cycle.
PATIENCE="${PATIENCE:-600}"
PORT="${BENCH_PLATFORM_PORT:-4078}"
SILENT_PORT="${BENCH_SILENT_REGISTRY_PORT:-5099}"
TOKEN="bench-token"
MANAGER="bench-lanes"
IMAGE="$STACK_CONNECTOR_IMAGE"
HELD_IMAGE="127.0.0.1:$SILENT_PORT/bench/held-connector:1"
STATE="$STACK_STATE_DIR/bench-lanes"
mkdir -p "$STATE"

bench_require_composer lanes-and-events
NEW_BINARY="$composer"
POLLING_BINARY="${POLLING_BINARY:-}"
if [ -n "$POLLING_BINARY" ] && [ ! -x "$POLLING_BINARY" ]; then echo "POLLING_BINARY=$POLLING_BINARY is not an executable" >&2; exit 1; fi
# BINARIES="new", "polling" or both (the default): which binaries part runs measure.
binaries=()
if [[ " ${BINARIES:-new polling} " == *" new "* ]]; then binaries+=("new=$NEW_BINARY"); fi
if [ -n "$POLLING_BINARY" ] && [[ " ${BINARIES:-new polling} " == *" polling "* ]]; then binaries+=("polling=$POLLING_BINARY"); fi

start_dockerd
build_connector_image
dotnet build tests/Composer.StandIns -c Release > "$STATE/standin-build.log" 2>&1
openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$STATE/key.pem" 2>/dev/null

export DOCKER_HOST="unix://$STACK_DOCKER_SOCKET"
now() { date +%s.%N; }
events_pid=""
stop_events() { if [ -n "$events_pid" ]; then kill "$events_pid" 2>/dev/null || true; wait "$events_pid" 2>/dev/null || true; events_pid=""; fi; }
cleanup() { stop_events; stack_stop bench-lanes-composer; bench_remove_containers "$MANAGER"; stack_stop bench-lanes-platform; stack_stop bench-silent-registry; }
trap cleanup EXIT

# The registry that never answers: accepts every connection and holds it open, silent.
stack_stop bench-silent-registry
stack_spawn bench-silent-registry python3 -c '
import socket, sys
server = socket.socket()
server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
server.bind(("127.0.0.1", int(sys.argv[1])))
server.listen(128)
held = []
while True:
    held.append(server.accept()[0])
' "$SILENT_PORT" || true
stack_wait_port "$SILENT_PORT" bench-silent-registry

connector_json() { # id image requested
    printf '{"id":"%s","name":"%s","image":"%s","hash":"h1","requested_status":"%s","configuration":[{"key":"CONNECTOR_ID","value":"%s"}]}' "$1" "$1" "$2" "$3" "$1"
}
# The connectors file: $1 connectors "lane-NNN" of the present image, plus the held one when $2 is "held".
connectors_file() {
    local i sep=""
    printf '['
    for i in $(seq 1 "$1"); do printf '%s%s' "$sep" "$(connector_json "$(printf 'lane-%03d' "$i")" "$IMAGE" starting)"; sep=","; done
    if [ "$2" = held ]; then printf '%s%s' "$sep" "$(connector_json held "$HELD_IMAGE" starting)"; fi
    printf ']'
}

start_platform() { bench_start_standin bench-lanes-platform "$PORT" "$STATE/connectors.json" "$TOKEN"; }
standin() { curl -fsS "$@"; }
state() { standin "http://127.0.0.1:$PORT/_standin/state"; }

run_composer() {
    stack_stop bench-lanes-composer
    stack_spawn bench-lanes-composer env -i PATH="$PATH" HOME="$HOME" \
        MANAGER__ID="$MANAGER" MANAGER__CREDENTIALS_KEY_FILEPATH="$STATE/key.pem" MANAGER__EXECUTE_SCHEDULE="$EXECUTE_SCHEDULE" \
        MANAGER__LOGGER__LEVEL=info OPENCTI__URL="http://127.0.0.1:$PORT" OPENCTI__TOKEN="$TOKEN" \
        OPENCTI__DAEMON__SELECTOR=docker OPENCTI__LOGS_SCHEDULE=3600 DOCKER_HOST="$DOCKER_HOST" \
        "$1" --config-dir "$(bench_config_dir "$1")" run || true
}

# Records the engine's events of this manager's containers from time $2 on: "<unix ns> <action> <connector id>" lines
# in $1 (the engine replays what happened since $2, so nothing is lost while the CLI subscribes).
watch_events() {
    docker events --since "$2" --filter "label=opencti-manager=$MANAGER" --filter type=container \
        --format '{{.TimeNano}} {{.Action}} {{index .Actor.Attributes "opencti-connector-id"}}' > "$1" &
    events_pid=$!
}
# Waits until $1 holds $2 events matching awk condition $3, at most PATIENCE seconds; returns 1 on timeout.
wait_events() {
    local deadline=$((SECONDS + PATIENCE))
    until [ "$(awk "$3" "$1" | wc -l)" -ge "$2" ]; do
        [ "$SECONDS" -lt "$deadline" ] || return 1
        sleep 0.1
    done
}
stats() { # numbers on stdin -> "median M, max X (n N)"
    sort -g | awk '{ v[NR] = $1 } END { if (NR == 0) { print "none"; exit } m = (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2; printf "median %.2f s, max %.2f s (n %d)", m, v[NR], NR }'
}

# One run of part 1: prints the sorted start times (seconds since Composer's start) of the lane connectors into
# $STATE/starts-<name>-<variant>, then, with the held connector, the stop request's two times.
lanes_run() {
    local name="$1" binary="$2" variant="$3" t0 ts
    bench_remove_containers "$MANAGER"
    connectors_file "$OTHERS" "$variant" > "$STATE/connectors.json"
    start_platform
    t0="$(now)"
    watch_events "$STATE/events" "$t0"
    run_composer "$binary"
    # The start times are the engine's own (State.StartedAt), read once all run: an events subscription can lose
    # some when other users of the engine overrun its replay buffer.
    local deadline=$((SECONDS + PATIENCE)) started
    until [ "$(docker ps -q --filter "label=opencti-manager=$MANAGER" --filter status=running | wc -l)" -ge "$OTHERS" ]; do
        [ "$SECONDS" -lt "$deadline" ] || { echo "$name $variant: the $OTHERS connectors did not all start within $PATIENCE s" >&2; break; }
        sleep 0.2
    done
    : > "$STATE/starts-$name-$variant"
    for started in $(docker inspect --format '{{.State.StartedAt}}' $(docker ps -q --filter "label=opencti-manager=$MANAGER" --filter status=running)); do
        echo "$(date -d "$started" +%s.%N) - $t0" | bc >> "$STATE/starts-$name-$variant"
    done
    sort -g -o "$STATE/starts-$name-$variant" "$STATE/starts-$name-$variant"
    printf '%s, %s: %s connectors started, the last %.2f s after Composer started (load %s)\n' "$name" "$variant" \
        "$(wc -l < "$STATE/starts-$name-$variant")" "$(tail -n 1 "$STATE/starts-$name-$variant")" "$(cut -d' ' -f1-3 /proc/loadavg)"
    if [ "$variant" = held ]; then
        ts="$(now)"
        standin -X POST "http://127.0.0.1:$PORT/_standin/connectors/lane-001/stop"
        local acted reported=""
        if wait_events "$STATE/events" 1 '$2 == "kill" && $3 == "lane-001"'; then
            acted="$(awk -v ts="$ts" '$2 == "kill" && $3 == "lane-001" { printf "%.2f", $1 / 1e9 - ts; exit }' "$STATE/events")"
        else acted="more than $PATIENCE"; fi
        local deadline=$((SECONDS + 30))
        while [ -z "$reported" ] && [ "$SECONDS" -lt "$deadline" ]; do
            reported="$(state | jq -r '[.status_reports[] | select(.connector_id == "lane-001" and .status == "stopped") | .received_at] | first // empty')"
            [ -n "$reported" ] || sleep 0.2
        done
        if [ -n "$reported" ]; then reported="$(echo "$(date -d "$reported" +%s.%N) - $ts" | bc)"; else reported="not within 30 s of the kill"; fi
        printf '%s, held: stop request for lane-001 acted on (engine kill event) after %s s, "stopped" at the platform after %s s (execute_schedule %d s; held connector: %s)\n' \
            "$name" "$acted" "$reported" "$EXECUTE_SCHEDULE" "$(docker ps -aq --filter "label=opencti-connector-id=held" | wc -l) container(s)"
    fi
    stop_events
    stack_stop bench-lanes-composer
    cp "$STACK_STATE_DIR/bench-lanes-composer.log" "$STATE/composer-$name-$variant.log" 2>/dev/null || true
}

if [[ " $PARTS " == *" lanes "* ]]; then
    echo "== 1. $OTHERS connectors beside one whose registry never answers (execute_schedule $EXECUTE_SCHEDULE s)"
    for entry in "${binaries[@]}"; do
        name="${entry%%=*}"; binary="${entry#*=}"
        lanes_run "$name" "$binary" alone
        lanes_run "$name" "$binary" held
        delays="$(paste "$STATE/starts-$name-held" "$STATE/starts-$name-alone" | awk 'NF == 2 { printf "%.3f\n", $1 - $2 }')"
        printf '%s: delay of the k-th start with the held connector against without: %s; max %s s\n' "$name" \
            "$(echo "$delays" | tr '\n' ' ')" "$(echo "$delays" | sort -g | tail -n 1)"
    done
    bench_remove_containers "$MANAGER"
fi

if [[ " $PARTS " == *" kills "* ]]; then
    echo "== 2. docker kill to status and health at the platform ($KILLS kills over $CONNECTORS_KILLED connectors)"
    for entry in "${binaries[@]}"; do
        name="${entry%%=*}"; binary="${entry#*=}"
        bench_remove_containers "$MANAGER"
        connectors_file "$CONNECTORS_KILLED" none > "$STATE/connectors.json"
        start_platform
        run_composer "$binary"
        # Converged: every connector started and its first health report in.
        deadline=$((SECONDS + PATIENCE))
        until [ "$(state 2>/dev/null | jq '[.connectors[] | select(.current_status == "started" and .current_health != null)] | length' || echo 0)" -ge "$CONNECTORS_KILLED" ]; do
            [ "$SECONDS" -lt "$deadline" ] || { echo "$name: the connectors did not converge" >&2; break; }
            sleep 0.5
        done
        sleep 3
        : > "$STATE/kills-$name"
        for k in $(seq 1 "$KILLS"); do
            id="$(printf 'lane-%03d' $(((k - 1) % CONNECTORS_KILLED + 1)))"
            read -r statuses healths < <(state | jq -r --arg id "$id" '"\([.status_reports[] | select(.connector_id == $id)] | length) \([.health_reports[] | select(.connector_id == $id)] | length)"')
            container="$(docker ps -q --filter "label=opencti-connector-id=$id" --filter "label=opencti-manager=$MANAGER")"
            [ -n "$container" ] || { echo "$name: $id has no running container" >&2; continue; }
            tk="$(now)"
            docker kill "$container" > /dev/null
            deadline=$((SECONDS + 120))
            told=""
            while [ -z "$told" ] && [ "$SECONDS" -lt "$deadline" ]; do
                told="$(state | jq -r --arg id "$id" --argjson s "$statuses" --argjson h "$healths" '
                    [.status_reports[] | select(.connector_id == $id)][$s:] as $ns | [.health_reports[] | select(.connector_id == $id)][$h:] as $nh
                    | if ($ns | length) > 0 and ($nh | length) > 0 then "\($ns[0].received_at) \($nh[0].received_at) \($ns | map(.status) | join(","))" else empty end')"
                [ -n "$told" ] || sleep 0.1
            done
            if [ -z "$told" ]; then echo "kill $k ($id): not told within 120 s" | tee -a "$STATE/kills-$name-log"; continue; fi
            read -r status_at health_at statuses_seen <<< "$told"
            s="$(echo "$(date -d "$status_at" +%s.%N) - $tk" | bc)"; h="$(echo "$(date -d "$health_at" +%s.%N) - $tk" | bc)"
            both="$(echo "if ($s > $h) $s else $h" | bc)"
            printf '%s kill %d (%s): status (%s) after %.2f s, health after %.2f s\n' "$name" "$k" "$id" "$statuses_seen" "$s" "$h"
            echo "$both" >> "$STATE/kills-$name"
            # Back up and running before the next kill of the same connector.
            deadline=$((SECONDS + PATIENCE))
            until [ -n "$(docker ps -q --filter "label=opencti-connector-id=$id" --filter "label=opencti-manager=$MANAGER")" ] || [ "$SECONDS" -ge "$deadline" ]; do sleep 0.2; done
            sleep 2
        done
        printf '%s: kill to status and health at the platform: %s (load %s)\n' "$name" "$(stats < "$STATE/kills-$name")" "$(cut -d' ' -f1-3 /proc/loadavg)"
        stack_stop bench-lanes-composer
        cp "$STACK_STATE_DIR/bench-lanes-composer.log" "$STATE/composer-$name-kills.log" 2>/dev/null || true
    done
fi
