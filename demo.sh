#!/usr/bin/env bash
# Composer's main job against the embedded local stack, start to finish:
#   - the stack: the Docker engine, a private registry with htpasswd auth (registry.composer.test, a loopback address
#     from tests/hosts.txt, so it is reached through the proxy like a real one), a tinyproxy, and an OpenCTI stand-in
#     (tests/Composer.StandIns) with two connectors: one whose image names no registry (resolved through
#     opencti.daemon.registry.server) and one whose image names its registry (used as is), one with an encrypted secret;
#   - `composer run`: both connectors are pulled with the registry credentials, deployed and
#     started, their status, health and logs reported to the platform (and `composer plan` then shows nothing to do);
#   - one connector is stopped from the platform side, and Composer stops its container;
#   - everything is torn down: the platform deletes the connectors, Composer removes their containers, stops on SIGTERM.
# Idempotent. Stops what it started unless --keep; --down stops everything a kept stack runs.
#
#   ./demo.sh            run the demo, then stop what it started
#   ./demo.sh --keep     run the demo and leave the registry, proxy and engine running
#   ./demo.sh --down     stop a stack left running by --keep (a dockerd only if a kept demo started it)
#
# Ports: DEMO_REGISTRY_PORT (5055), DEMO_PROXY_PORT (8899), DEMO_PLATFORM_PORT (4055).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT"
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
# shellcheck source=scripts/stack.sh
source "$REPO_ROOT/scripts/stack.sh"

REGISTRY_PORT="${DEMO_REGISTRY_PORT:-5055}"
PROXY_PORT="${DEMO_PROXY_PORT:-8899}"
PLATFORM_PORT="${DEMO_PLATFORM_PORT:-4055}"
REGISTRY_HOST="registry.composer.test"
REGISTRY_IP="$(awk -v name="$REGISTRY_HOST" '$1 !~ /^#/ && $2 == name { print $1 }' tests/hosts.txt)"
REGISTRY="$REGISTRY_HOST:$REGISTRY_PORT"
REGISTRY_USER="demo"
# A local throwaway credential, with the '+' and '/' that break standard-base64 X-Registry-Auth headers; Composer
# receives it through the environment, as a deployment would.
REGISTRY_PASSWORD="${DEMO_REGISTRY_PASSWORD:-demo+pass/word}"
PLATFORM_TOKEN="demo-platform-token"
PLATFORM="http://127.0.0.1:$PLATFORM_PORT"
MANAGER_ID="composer-demo"
PREFIXED_IMAGE="opencti/connector-demo:1.0.0"             # no registry: resolved to $REGISTRY/opencti/connector-demo
NAMED_IMAGE="$REGISTRY/filigran/connector-named:1.0.0"    # names its registry: never prefixed again

keep=""
case "${1:-}" in
    --keep) keep=1 ;;
    --down)
        stack_stop composer
        stack_stop platform
        stack_stop proxy
        stack_stop registry
        if [ -f "$STACK_STATE_DIR/dockerd.started-by-demo" ]; then
            stop_dockerd
            rm -f "$STACK_STATE_DIR/dockerd.started-by-demo"
        fi
        exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--keep|--down]" >&2; exit 2 ;;
esac

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }
fail() { printf '\ndemo: %s\n' "$*" >&2; exit 1; }

started_here=()
cleanup() {
    stack_stop composer
    stack_stop platform
    # Containers this demo's manager owns, whatever happened before.
    DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker rm -f $(DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker ps -aq --filter "label=opencti-manager=$MANAGER_ID") >/dev/null 2>&1 || true
    if [ -n "$keep" ]; then
        case " ${started_here[*]} " in *" dockerd "*) touch "$STACK_STATE_DIR/dockerd.started-by-demo" ;; esac
        say "Leaving the stack running (--keep): registry $REGISTRY (user $REGISTRY_USER), proxy http://127.0.0.1:$PROXY_PORT; stop it with ./demo.sh --down"
        return
    fi
    local what
    for what in "${started_here[@]}"; do
        case "$what" in
            dockerd) stop_dockerd ;;
            *) stack_stop "$what" ;;
        esac
    done
}
trap cleanup EXIT

# Polls until the command succeeds (quietly), or fails the demo after the timeout.
wait_for() {
    local what="$1" seconds="$2"; shift 2
    local deadline=$((SECONDS + seconds))
    until "$@" >/dev/null 2>&1; do
        if [ "$SECONDS" -ge "$deadline" ]; then
            echo "--- composer log (last 30 lines)" >&2
            tail -n 30 "$STACK_STATE_DIR/composer.log" >&2 || true
            fail "timed out after ${seconds}s waiting for: $what"
        fi
        sleep 0.5
    done
    echo "  ok: $what"
}
platform_state() { curl -fsS "$PLATFORM/_standin/state"; }
reported() { platform_state | grep -qF "$1"; }
container_state() { DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker inspect --format '{{.State.Status}}' "$1" 2>/dev/null; }
container_is() { [ "$(container_state "$1")" = "$2" ]; }
no_container() { ! DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker inspect "$1" >/dev/null 2>&1; }

mkdir -p "$STACK_STATE_DIR"
if [ "$(id -u)" = "0" ]; then
    say "Installing the packages the stack needs (once) and the test host names (tests/hosts.txt)"
    install_packages
    add_test_hosts
else
    say "Not root: skipping package installation and /etc/hosts (a running Docker engine is needed)"
fi
getent hosts "$REGISTRY_HOST" >/dev/null || fail "$REGISTRY_HOST does not resolve: run as root (adds tests/hosts.txt to /etc/hosts)"

say "Starting the Docker engine (or reusing the running one)"
if ! docker_answers; then started_here+=(dockerd); fi
start_dockerd

say "Starting a private registry with htpasswd auth on $REGISTRY and tinyproxy on 127.0.0.1:$PROXY_PORT"
if [ ! -f "$STACK_STATE_DIR/registry.pid" ] || ! kill -0 "$(cat "$STACK_STATE_DIR/registry.pid")" 2>/dev/null; then started_here+=(registry); fi
start_registry "$REGISTRY_PORT" "$REGISTRY_USER" "$REGISTRY_PASSWORD" "$REGISTRY_IP"
if [ ! -f "$STACK_STATE_DIR/proxy.pid" ] || ! kill -0 "$(cat "$STACK_STATE_DIR/proxy.pid")" 2>/dev/null; then started_here+=(proxy); fi
start_proxy "$PROXY_PORT"

say "Building the stand-in connector image and pushing it as $REGISTRY/${PREFIXED_IMAGE} and $NAMED_IMAGE"
build_connector_image
push_test_image "$REGISTRY" "$REGISTRY_USER" "$REGISTRY_PASSWORD" "${PREFIXED_IMAGE%%:*}" "${PREFIXED_IMAGE##*:}" "$STACK_CONNECTOR_IMAGE"
push_test_image "$REGISTRY" "$REGISTRY_USER" "$REGISTRY_PASSWORD" "filigran/connector-named" "1.0.0" "$STACK_CONNECTOR_IMAGE"
# Without the local copies the engine must pull them, with the credentials Composer passes.
DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker rmi "$REGISTRY/$PREFIXED_IMAGE" "$NAMED_IMAGE" >/dev/null

say "Publishing the native composer and building the OpenCTI stand-in"
dotnet publish src/Composer -c Release -o out > "$STACK_STATE_DIR/publish.log" 2>&1 \
    || { tail -n 40 "$STACK_STATE_DIR/publish.log" >&2; fail "dotnet publish failed"; }
dotnet build tests/Composer.StandIns -c Release > "$STACK_STATE_DIR/standin-build.log" 2>&1 \
    || { tail -n 40 "$STACK_STATE_DIR/standin-build.log" >&2; fail "building the stand-in failed"; }

# The configuration a user would write: config/default.yaml plus config/demo.yaml (COMPOSER_ENV=demo); the registry
# password, the platform token and the proxies come from the environment.
config_dir="$STACK_STATE_DIR/demo-config"
mkdir -p "$config_dir"
cp config/default.yaml "$config_dir/default.yaml"
if [ ! -f "$config_dir/manager-key.pem" ]; then
    # The manager's RSA-4096 key (PKCS#8), made once: OpenCTI encrypts connector secrets to its public half.
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$config_dir/manager-key.pem" 2>/dev/null
    chmod 600 "$config_dir/manager-key.pem"
fi
cat > "$config_dir/demo.yaml" <<EOF
manager:
  id: $MANAGER_ID
  execute_schedule: 2
  credentials_key_filepath: $config_dir/manager-key.pem
  logger:
    format: pretty
opencti:
  url: $PLATFORM
  with_proxy: true
  logs_schedule: 5
  daemon:
    selector: docker
    registry:
      server: http://$REGISTRY   # http:// marks a plain-HTTP registry
      username: $REGISTRY_USER
      retry_attempts: 2
      retry_delay: 1
EOF
cat > "$config_dir/connectors.json" <<EOF
[
  {"id": "demo-prefixed", "name": "Demo Prefixed Connector", "image": "$PREFIXED_IMAGE", "hash": "hash-1",
   "configuration": [{"key": "CONNECTOR_ID", "value": "demo-prefixed"},
                     {"key": "CONNECTOR_API_KEY", "value": "demo-secret-value", "encrypted": true}]},
  {"id": "demo-named", "name": "Demo Named Registry", "image": "$NAMED_IMAGE", "hash": "hash-1",
   "configuration": [{"key": "CONNECTOR_ID", "value": "demo-named"}]}
]
EOF
composer_env=(
    env -i PATH="$PATH" HOME="${HOME:-/root}"
    COMPOSER_ENV=demo
    COMPOSER_CONFIG_DIR="$config_dir"
    OPENCTI__TOKEN="$PLATFORM_TOKEN"
    OPENCTI__DAEMON__REGISTRY__PASSWORD="$REGISTRY_PASSWORD"
    HTTP_PROXY="http://127.0.0.1:$PROXY_PORT"
    HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT"
    NO_PROXY="localhost,.internal.example"
    DOCKER_HOST="unix://$STACK_DOCKER_SOCKET"
)

say "Starting the OpenCTI stand-in on $PLATFORM with two connectors"
stack_stop platform
stack_spawn platform dotnet tests/Composer.StandIns/bin/Release/net10.0/Composer.StandIns.dll opencti \
    --port "$PLATFORM_PORT" --token "$PLATFORM_TOKEN" --connectors "$config_dir/connectors.json" || true
stack_wait_port "$PLATFORM_PORT" platform

say "composer config validate"
"${composer_env[@]}" ./out/composer config validate

say "composer run (log: .state/composer.log)"
stack_stop composer
stack_spawn composer "${composer_env[@]}" ./out/composer run || true
prefixed="demo-prefixed-connector"
named="demo-named-registry"
wait_for "both connectors pulled, deployed and running" 90 bash -c "[ \"\$(DOCKER_HOST=unix://$STACK_DOCKER_SOCKET docker inspect --format '{{.State.Status}}' $prefixed $named 2>/dev/null | sort -u)\" = running ]"
wait_for "status 'started' reported for both" 30 bash -c "curl -fsS $PLATFORM/_standin/state | grep -o '\"status\":\"started\"' | wc -l | grep -qv '^[01]$'"
wait_for "health reported" 30 reported '"restart_count"'
wait_for "connector logs uploaded" 30 reported 'connector started: demo-prefixed'
echo "  images pulled:"
DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker inspect --format '    {{.Name}} {{.Config.Image}}' "$prefixed" "$named"
echo "  the decrypted secret reached the connector's environment: $(DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$prefixed" | grep -c '^CONNECTOR_API_KEY=demo-secret-value$') variable"
echo "  proxy variables given to connectors: $(DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker inspect --format '{{range .Config.Env}}{{println .}}{{end}}' "$prefixed" | grep -ciE '^(https?|no)_proxy=') variables"
grep -q "$REGISTRY_HOST" "$STACK_STATE_DIR/proxy.log" && echo "  the registry pre-flight went through tinyproxy (its log names $REGISTRY_HOST)"

say "composer plan (one cycle's actions, printed; nothing is changed): no deploy, start or stop left, only the reports a fresh process owes"
"${composer_env[@]}" ./out/composer plan

say "Stopping '$named' from the platform side"
curl -fsS -X PATCH -H 'content-type: application/json' -d '{"requested_status":"stopping"}' "$PLATFORM/_standin/connectors/demo-named" >/dev/null
wait_for "its container stopped" 30 container_is "$named" exited
wait_for "status 'stopped' reported" 30 reported '"connector_id":"demo-named","status":"stopped"'
container_is "$prefixed" running && echo "  ok: '$prefixed' still runs"

say "Tearing down: the platform deletes both connectors, Composer removes their containers"
curl -fsS -X DELETE "$PLATFORM/_standin/connectors/demo-prefixed" >/dev/null
curl -fsS -X DELETE "$PLATFORM/_standin/connectors/demo-named" >/dev/null
wait_for "both containers removed" 30 bash -c "! DOCKER_HOST=unix://$STACK_DOCKER_SOCKET docker inspect $prefixed >/dev/null 2>&1 && ! DOCKER_HOST=unix://$STACK_DOCKER_SOCKET docker inspect $named >/dev/null 2>&1"
pid="$(cat "$STACK_STATE_DIR/composer.pid")"
kill -TERM "$pid"
wait_for "composer stopped on SIGTERM" 10 bash -c "! kill -0 $pid"

say "Composer's log"
cat "$STACK_STATE_DIR/composer.log"
if grep -qF -e "$REGISTRY_PASSWORD" -e "$PLATFORM_TOKEN" -e "demo-secret-value" "$STACK_STATE_DIR/composer.log"; then
    fail "a secret appeared in Composer's output"
fi
say "Demo finished: connectors deployed from the private registry, reported, stopped from the platform and removed"
