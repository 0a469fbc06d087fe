#!/usr/bin/env bash
# Brings up the local stack (Docker engine, a private registry with htpasswd auth and a tinyproxy, all on
# 127.0.0.1), pushes the busybox test image as a "connector" image, publishes the native composer and runs it
# against the stack. Idempotent. Stops what it started unless --keep; --down stops everything a kept stack runs.
#
#   ./demo.sh            run the demo, then stop what it started
#   ./demo.sh --keep     run the demo and leave the stack running (registry, proxy, dockerd)
#   ./demo.sh --down     stop a stack left running by --keep (a dockerd only if a kept demo started it)
#
# Ports: DEMO_REGISTRY_PORT (default 5055), DEMO_PROXY_PORT (default 8899).
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")"
REPO_ROOT="$(pwd)"
export STACK_REPO_ROOT="$REPO_ROOT"
# shellcheck source=scripts/stack.sh
source "$REPO_ROOT/scripts/stack.sh"

REGISTRY_PORT="${DEMO_REGISTRY_PORT:-5055}"
PROXY_PORT="${DEMO_PROXY_PORT:-8899}"
# The registry is named registry.composer.test (a loopback address from tests/hosts.txt) rather than 127.0.0.1:
# loopback addresses are never proxied, a named registry goes through the proxy like a real one would.
REGISTRY_HOST="registry.composer.test"
REGISTRY_IP="$(awk -v name="$REGISTRY_HOST" '$1 !~ /^#/ && $2 == name { print $1 }' tests/hosts.txt)"
REGISTRY="$REGISTRY_HOST:$REGISTRY_PORT"
REGISTRY_USER="demo"
# A local throwaway credential; composer receives it through the environment, as a deployment would.
REGISTRY_PASSWORD="${DEMO_REGISTRY_PASSWORD:-demo-password}"
CONNECTOR_IMAGE="opencti/connector-demo"
CONNECTOR_TAG="1.0.0"

keep=""
case "${1:-}" in
    --keep) keep=1 ;;
    --down)
        stack_stop proxy
        stack_stop registry
        # Only a dockerd a kept demo started: one started by .ci/run (same pid file) may serve other work.
        if [ -f "$STACK_STATE_DIR/dockerd.started-by-demo" ]; then
            stop_dockerd
            rm -f "$STACK_STATE_DIR/dockerd.started-by-demo"
        fi
        exit 0 ;;
    "") ;;
    *) echo "usage: $0 [--keep|--down]" >&2; exit 2 ;;
esac

say() { printf '\n\033[1m==> %s\033[0m\n' "$*"; }

started_here=()
cleanup() {
    if [ -n "$keep" ]; then
        case " ${started_here[*]} " in *" dockerd "*) touch "$STACK_STATE_DIR/dockerd.started-by-demo" ;; esac
        say "Leaving the stack running (--keep): registry $REGISTRY (user $REGISTRY_USER, password: DEMO_REGISTRY_PASSWORD, default demo-password), proxy http://127.0.0.1:$PROXY_PORT; stop it with ./demo.sh --down"
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

mkdir -p "$STACK_STATE_DIR"

if [ "$(id -u)" = "0" ]; then
    say "Installing the packages the stack needs (once)"
    install_packages
    say "Adding the test host names (tests/hosts.txt) to /etc/hosts"
    add_test_hosts
else
    say "Not root: skipping package installation and /etc/hosts (a running Docker engine is needed)"
fi

if ! getent hosts "$REGISTRY_HOST" >/dev/null; then
    echo "demo: $REGISTRY_HOST does not resolve: run as root (adds tests/hosts.txt to /etc/hosts)" >&2
    exit 1
fi

say "Starting the Docker engine (or reusing the running one)"
if ! docker_answers; then started_here+=(dockerd); fi
start_dockerd

say "Starting a private registry with htpasswd auth on $REGISTRY ($REGISTRY_IP)"
if [ ! -f "$STACK_STATE_DIR/registry.pid" ] || ! kill -0 "$(cat "$STACK_STATE_DIR/registry.pid")" 2>/dev/null; then started_here+=(registry); fi
start_registry "$REGISTRY_PORT" "$REGISTRY_USER" "$REGISTRY_PASSWORD" "$REGISTRY_IP"

say "Starting tinyproxy on 127.0.0.1:$PROXY_PORT"
if [ ! -f "$STACK_STATE_DIR/proxy.pid" ] || ! kill -0 "$(cat "$STACK_STATE_DIR/proxy.pid")" 2>/dev/null; then started_here+=(proxy); fi
start_proxy "$PROXY_PORT"

say "Building the busybox test image and pushing it as the connector image $REGISTRY/$CONNECTOR_IMAGE:$CONNECTOR_TAG"
build_test_image
push_test_image "$REGISTRY" "$REGISTRY_USER" "$REGISTRY_PASSWORD" "$CONNECTOR_IMAGE" "$CONNECTOR_TAG"

say "Publishing the native composer (dotnet publish src/Composer -c Release -o out)"
dotnet publish src/Composer -c Release -o out > "$STACK_STATE_DIR/publish.log" 2>&1 \
    || { tail -n 40 "$STACK_STATE_DIR/publish.log" >&2; exit 1; }

# The configuration a user would write: config/default.yaml plus an environment file (COMPOSER_ENV=demo)
# naming the registry and turning the proxy on; the password and proxy come from the environment.
config_dir="$STACK_STATE_DIR/demo-config"
mkdir -p "$config_dir"
cp config/default.yaml "$config_dir/default.yaml"
# The manager's RSA-4096 key (PKCS#8), made once: OpenCTI encrypts connector secrets to its public half.
if [ ! -f "$config_dir/manager-key.pem" ]; then
    openssl genpkey -algorithm RSA -pkeyopt rsa_keygen_bits:4096 -out "$config_dir/manager-key.pem" 2>/dev/null
    chmod 600 "$config_dir/manager-key.pem"
fi
cat > "$config_dir/demo.yaml" <<EOF
manager:
  credentials_key_filepath: $config_dir/manager-key.pem
  logger:
    format: pretty
opencti:
  daemon:
    selector: docker
    with_proxy: true
    registry:
      server: http://$REGISTRY   # http:// marks a plain-HTTP registry
      username: $REGISTRY_USER
EOF
composer_env=(
    COMPOSER_ENV=demo
    COMPOSER_CONFIG_DIR="$config_dir"
    OPENCTI__DAEMON__REGISTRY__PASSWORD="$REGISTRY_PASSWORD"
    HTTP_PROXY="http://127.0.0.1:$PROXY_PORT"
    HTTPS_PROXY="http://127.0.0.1:$PROXY_PORT"
)

failures=0
ran_last=0
# Runs `composer <args>` when this build has the command (`composer <command> --help` describes it).
run_composer() {
    local words=() a
    for a in "$@"; do
        case "$a" in -*|*/*|*:*) break ;; esac
        words+=("$a")
    done
    # Help for an unknown subcommand falls back to its parent's: check that the usage line names the command.
    ran_last=0
    if ! env "${composer_env[@]}" ./out/composer "${words[@]}" --help 2>/dev/null | grep -qF "composer ${words[*]} "; then
        say "composer ${words[*]}: not in this build yet, skipped"
        return 0
    fi
    ran_last=1
    say "composer $*"
    local rc=0
    env "${composer_env[@]}" ./out/composer "$@" || rc=$?
    echo "(exit code $rc)"
    if [ "$rc" -ne 0 ]; then failures=$((failures + 1)); fi
}

say "composer --version"
./out/composer --version
run_composer config validate
run_composer config show
run_composer image resolve "$CONNECTOR_IMAGE:$CONNECTOR_TAG"
proxied_before="$(grep -c "$REGISTRY_HOST" "$STACK_STATE_DIR/proxy.log" || true)"
run_composer image check "$CONNECTOR_IMAGE:$CONNECTOR_TAG"
proxied=$(( $(grep -c "$REGISTRY_HOST" "$STACK_STATE_DIR/proxy.log" || true) - proxied_before ))
if [ "$ran_last" = 1 ]; then
    say "tinyproxy log: $proxied line(s) about $REGISTRY_HOST during the check"
    if [ "$proxied" -eq 0 ]; then
        echo "demo: the image check did not go through the proxy" >&2
        failures=$((failures + 1))
    fi
fi

# The engine the demo uses, over its local socket (never proxied).
composer_env+=(DOCKER_HOST="unix://$STACK_DOCKER_SOCKET")
run_composer docker check

if [ "$failures" -ne 0 ]; then
    say "Demo finished with $failures failing command(s)"
    exit 1
fi
say "Demo finished: every available command succeeded"
