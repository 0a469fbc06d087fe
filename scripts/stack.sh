# shellcheck shell=bash
# The local stack Composer's tests and demo run against: Debian packages, a Docker engine, a private registry
# with htpasswd auth, a tinyproxy, the test host names, and the busybox test image.
# Sourced by .ci/run and demo.sh; every function is idempotent (safe to run twice on the same machine).
# Everything listens on 127.0.0.1 only. State (logs, pid files, registry storage) lives in $STACK_STATE_DIR.

STACK_REPO_ROOT="${STACK_REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
STACK_STATE_DIR="${STACK_STATE_DIR:-$STACK_REPO_ROOT/.state}"
STACK_DOCKER_SOCKET="${STACK_DOCKER_SOCKET:-/var/run/docker.sock}"
STACK_TEST_IMAGE="${STACK_TEST_IMAGE:-composer-test/busybox:1}"
STACK_HOSTS_FILE="${STACK_HOSTS_FILE:-/etc/hosts}"

# What the tests and the native publish need. NativeAOT static linking needs a C toolchain (clang), zlib1g-dev
# and, for StaticOpenSslLinking, libssl-dev; binutils' objcopy splits the symbols out of the release binary.
STACK_PACKAGES=(docker.io docker-registry tinyproxy squid-openssl stunnel4 busybox-static apache2-utils openssl
    ca-certificates curl clang binutils zlib1g-dev libssl-dev iproute2 util-linux socat)

stack_say() { printf '[stack] %s\n' "$*" >&2; }

# Installs the missing packages (apt-get update only when something is missing). Services that packages try
# to start during installation (squid on 3128, tinyproxy on 8888, docker, registry) are kept from starting
# through policy-rc.d: the stack starts its own instances, on its own ports.
install_packages() {
    local missing=() p
    for p in "${STACK_PACKAGES[@]}"; do
        if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        stack_say "packages: all ${#STACK_PACKAGES[@]} installed"
        return 0
    fi
    stack_say "packages: installing ${missing[*]}"
    local created_policy=""
    if [ ! -e /usr/sbin/policy-rc.d ]; then
        printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d
        chmod 755 /usr/sbin/policy-rc.d
        created_policy=1
    fi
    local rc=0
    DEBIAN_FRONTEND=noninteractive apt-get update -qq || rc=$?
    if [ "$rc" -eq 0 ]; then
        DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" || rc=$?
    fi
    if [ -n "$created_policy" ]; then rm -f /usr/sbin/policy-rc.d; fi
    return "$rc"
}

docker_answers() { DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker info >/dev/null 2>&1; }

# Reuses the engine at $STACK_DOCKER_SOCKET when it answers; otherwise starts dockerd (vfs storage, no iptables,
# no bridge: containers use network mode none or host) and waits for `docker info`.
start_dockerd() {
    if docker_answers; then
        stack_say "dockerd: reusing the engine at $STACK_DOCKER_SOCKET"
        return 0
    fi
    mkdir -p "$STACK_STATE_DIR"
    local log="$STACK_STATE_DIR/dockerd.log" pidfile="$STACK_STATE_DIR/dockerd.pid"
    # A dockerd that died uncleanly leaves its pid file and socket behind, and refuses to start over them.
    if [ -f "$pidfile" ] && ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then rm -f "$pidfile"; fi
    if [ -S "$STACK_DOCKER_SOCKET" ] && ! pgrep -x dockerd >/dev/null; then rm -f "$STACK_DOCKER_SOCKET"; fi
    if [ -f /var/run/docker.pid ] && ! kill -0 "$(cat /var/run/docker.pid)" 2>/dev/null; then rm -f /var/run/docker.pid; fi
    stack_say "dockerd: starting (log: $log)"
    setsid nohup dockerd --storage-driver vfs --iptables=false --ip-masq=false --bridge=none \
        -H "unix://$STACK_DOCKER_SOCKET" >"$log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    local i
    for i in $(seq 1 120); do
        if docker_answers; then
            stack_say "dockerd: ready (pid $(cat "$pidfile"))"
            return 0
        fi
        if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
            stack_say "dockerd: exited during start-up; last lines of $log:"
            tail -n 20 "$log" >&2
            return 1
        fi
        sleep 0.5
    done
    stack_say "dockerd: no answer after 60 s; last lines of $log:"
    tail -n 20 "$log" >&2
    return 1
}

# Stops the dockerd this stack started (never one it reused).
stop_dockerd() {
    local pidfile="$STACK_STATE_DIR/dockerd.pid"
    [ -f "$pidfile" ] || return 0
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        stack_say "dockerd: stopping pid $pid"
        kill "$pid"
        local i
        for i in $(seq 1 60); do kill -0 "$pid" 2>/dev/null || break; sleep 0.5; done
    fi
    rm -f "$pidfile"
}

# Adds the test host names of tests/hosts.txt to /etc/hosts ($STACK_HOSTS_FILE), each once. The file is appended
# to, never replaced (it is often a bind mount).
add_test_hosts() {
    local list="$STACK_REPO_ROOT/tests/hosts.txt" line ip names name added=0
    # A last line without its newline would swallow the first appended entry.
    if [ -s "$STACK_HOSTS_FILE" ] && [ -n "$(tail -c 1 "$STACK_HOSTS_FILE")" ]; then echo >> "$STACK_HOSTS_FILE"; fi
    while IFS= read -r line || [ -n "$line" ]; do
        line="${line%%#*}"
        read -r ip names <<< "$line" || true
        [ -n "$ip" ] && [ -n "$names" ] || continue
        for name in $names; do
            if ! awk -v ip="$ip" -v name="$name" '$1 == ip { for (i = 2; i <= NF; i++) if ($i == name) found = 1 } END { exit !found }' "$STACK_HOSTS_FILE"; then
                printf '%s %s\n' "$ip" "$name" >> "$STACK_HOSTS_FILE"
                added=$((added + 1))
            fi
        done
    done < "$list"
    stack_say "hosts: $added added to $STACK_HOSTS_FILE from tests/hosts.txt"
}

# Starts a process in the background, detached, with its pid in $STACK_STATE_DIR/<name>.pid, unless the one
# recorded there still runs. Returns 0 if it was started, 1 if already running.
stack_spawn() {
    local name="$1"; shift
    local pidfile="$STACK_STATE_DIR/$name.pid"
    if [ -f "$pidfile" ] && kill -0 "$(cat "$pidfile")" 2>/dev/null; then return 1; fi
    setsid nohup "$@" >"$STACK_STATE_DIR/$name.log" 2>&1 < /dev/null &
    echo $! > "$pidfile"
    return 0
}

stack_wait_port() {
    local port="$1" what="$2" address="${3:-127.0.0.1}" i
    for i in $(seq 1 100); do
        if (exec 3<>"/dev/tcp/$address/$port") 2>/dev/null; then return 0; fi
        sleep 0.1
    done
    stack_say "$what: not listening on $address:$port; last lines of its log:"
    tail -n 20 "$STACK_STATE_DIR/$what.log" >&2 || true
    return 1
}

stack_stop() {
    local name="$1" pidfile="$STACK_STATE_DIR/$1.pid"
    [ -f "$pidfile" ] || return 0
    local pid; pid="$(cat "$pidfile")"
    if kill -0 "$pid" 2>/dev/null; then
        stack_say "$name: stopping pid $pid"
        kill "$pid" 2>/dev/null || true
    fi
    rm -f "$pidfile"
}

# A private registry (docker-registry, distribution 2.x) on <listen-ip, default 127.0.0.1>:<port> with htpasswd
# (bcrypt) auth. Docker pushes and pulls over plain HTTP to 127.0.0.0/8 (also through a host name that resolves
# there) without any daemon configuration.
start_registry() {
    local port="$1" user="$2" password="$3" listen="${4:-127.0.0.1}"
    local dir="$STACK_STATE_DIR/registry"
    mkdir -p "$dir/data"
    htpasswd -Bbn "$user" "$password" > "$dir/htpasswd"
    cat > "$dir/config.yml" <<EOF
version: 0.1
log:
  level: info
storage:
  filesystem:
    rootdirectory: $dir/data
  delete:
    enabled: true
http:
  addr: $listen:$port
auth:
  htpasswd:
    realm: composer-demo
    path: $dir/htpasswd
EOF
    if stack_spawn registry docker-registry serve "$dir/config.yml"; then
        stack_say "registry: started on $listen:$port (user $user, log $STACK_STATE_DIR/registry.log)"
    else
        stack_say "registry: already running (pid $(cat "$STACK_STATE_DIR/registry.pid"))"
    fi
    stack_wait_port "$port" registry "$listen"
}

# tinyproxy on 127.0.0.1:<port>, allowing loopback clients only.
start_proxy() {
    local port="$1"
    local dir="$STACK_STATE_DIR/proxy"
    mkdir -p "$dir"
    cat > "$dir/tinyproxy.conf" <<EOF
Port $port
Listen 127.0.0.1
Timeout 60
MaxClients 50
Allow 127.0.0.1
LogLevel Info
DisableViaHeader Yes
EOF
    if stack_spawn proxy tinyproxy -d -c "$dir/tinyproxy.conf"; then
        stack_say "proxy: tinyproxy started on 127.0.0.1:$port (log $STACK_STATE_DIR/proxy.log)"
    else
        stack_say "proxy: already running (pid $(cat "$STACK_STATE_DIR/proxy.pid"))"
    fi
    stack_wait_port "$port" proxy
}

# The busybox test image (the same one tests/Composer.Tests/Infrastructure/TestImage.cs builds, same recipe label): a rootfs with
# Debian's static /bin/busybox and a few applet links, imported into the engine.
build_test_image() {
    # The rootfs label says which recipe built the image; an image from another recipe is rebuilt.
    local recipe="2"
    if [ "$(DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker image inspect --format '{{ index .Config.Labels "composer-test.rootfs" }}' "$STACK_TEST_IMAGE" 2>/dev/null)" = "$recipe" ]; then
        stack_say "image: $STACK_TEST_IMAGE already present"
        return 0
    fi
    local root; root="$(mktemp -d)"
    # mktemp makes a 0700 directory: the image's / must be 0755 or a non-root container user cannot reach anything.
    chmod 755 "$root"
    mkdir -p "$root/bin" "$root/tmp" "$root/etc"
    chmod 1777 "$root/tmp"
    cp /bin/busybox "$root/bin/busybox"
    local applet
    for applet in sh echo sleep cat env wget ls; do ln -s busybox "$root/bin/$applet"; done
    tar -C "$root" -cf "$root.tar" .
    DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker import \
        --change 'ENV PATH=/bin' --change 'CMD ["/bin/sh"]' --change "LABEL composer-test.rootfs=$recipe" \
        "$root.tar" "$STACK_TEST_IMAGE" >/dev/null
    rm -rf "$root" "$root.tar"
    stack_say "image: $STACK_TEST_IMAGE imported"
}

# The stand-in connector image (composer-test/connector:2, the one the tests build, same recipe label): the busybox
# test image plus tests/images/connector.sh as /bin/connector, its command.
STACK_CONNECTOR_IMAGE="${STACK_CONNECTOR_IMAGE:-composer-test/connector:2}"
build_connector_image() {
    local recipe="2"
    build_test_image
    if [ "$(DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker image inspect --format '{{ index .Config.Labels "composer-test.connector" }}' "$STACK_CONNECTOR_IMAGE" 2>/dev/null)" = "$recipe" ]; then
        stack_say "image: $STACK_CONNECTOR_IMAGE already present"
        return 0
    fi
    local cid
    cid="$(DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker create --network none --label composer.test=true "$STACK_TEST_IMAGE")"
    DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker cp "$STACK_REPO_ROOT/tests/images/connector.sh" "$cid:/bin/connector" >/dev/null
    DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker commit --change 'CMD ["/bin/connector"]' --change "LABEL composer-test.connector=$recipe" \
        "$cid" "$STACK_CONNECTOR_IMAGE" >/dev/null
    DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker rm -f "$cid" >/dev/null
    stack_say "image: $STACK_CONNECTOR_IMAGE built"
}

# Tags an image (default: the test image) as <registry>/<repository>:<tag> and pushes it, logged in with its own docker config
# directory (the user's ~/.docker is left alone).
push_test_image() {
    local registry="$1" user="$2" password="$3" repository="$4" tag="$5" source="${6:-$STACK_TEST_IMAGE}"
    local config="$STACK_STATE_DIR/docker-config"
    mkdir -p "$config"
    local target="$registry/$repository:$tag"
    printf '%s' "$password" | DOCKER_CONFIG="$config" DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" \
        docker login --username "$user" --password-stdin "$registry" >/dev/null
    DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker tag "$source" "$target"
    DOCKER_CONFIG="$config" DOCKER_HOST="unix://$STACK_DOCKER_SOCKET" docker push "$target" >/dev/null
    stack_say "image: pushed $target"
}

# Reads the Microsoft.Testing.Platform summary of a `dotnet test` log ("total: N", "failed: N", "succeeded: N",
# "skipped: N"; the last summary is the run's) and prints "N passed, N failed[, N skipped]". Returns 0 only when
# the summary exists, something ran, nothing failed and dotnet test exited 0 (its exit code is the 2nd argument).
test_totals() {
    local log="$1" test_rc="${2:-0}" total failed succeeded skipped
    summary_value() {
        sed -e 's/\x1b\[[0-9;]*m//g' "$log" | awk -v key="$1" '$1 == key ":" && $2 ~ /^[0-9]+$/ { value = $2 } END { if (value != "") print value }'
    }
    total="$(summary_value total)"
    failed="$(summary_value failed)"
    succeeded="$(summary_value succeeded)"
    skipped="$(summary_value skipped)"
    if [ -z "$total" ] || [ -z "$failed" ] || [ -z "$succeeded" ]; then
        echo "ci: no test summary in the output of dotnet test (exit code $test_rc; log: $log): the run is broken" >&2
        return 1
    fi
    local line="$succeeded passed, $failed failed"
    if [ -n "$skipped" ] && [ "$skipped" != "0" ]; then line="$line, $skipped skipped"; fi
    echo "$line"
    if [ "$failed" != "0" ]; then return 1; fi
    if [ "$test_rc" -ne 0 ]; then
        echo "ci: dotnet test exited with $test_rc" >&2
        return 1
    fi
    if [ "$total" = "0" ]; then
        echo "ci: no test ran" >&2
        return 1
    fi
    return 0
}
