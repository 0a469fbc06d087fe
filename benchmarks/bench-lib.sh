# Shared by the RSS benchmark scripts (sourced): the binary they measure and the clean-up every one of them does.

# Sets $composer to the binary under test (COMPOSER_BINARY, else out/composer) or exits saying how to build it.
bench_require_composer() {
    local tag="$1"
    composer="${COMPOSER_BINARY:-$REPO_ROOT/out/composer}"
    [ -x "$composer" ] || { echo "$tag: $composer not found: run dotnet publish src/Composer -c Release -o out" >&2; exit 1; }
}

# Stops a process this script started (SIGTERM, then waits for it); nothing when it is gone or was never started.
bench_stop() {
    local pid="$1"
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -TERM "$pid"; wait "$pid" 2>/dev/null
    fi
}

# Removes the containers of manager $1, and only those: other runs and the tests share the engine.
bench_remove_containers() {
    local ids
    ids="$(docker ps -aq --filter "label=opencti-manager=$1" 2>/dev/null)"
    if [ -n "$ids" ]; then
        printf 'removing %s container(s) of %s\n' "$(echo "$ids" | wc -l)" "$1" >&2
        # shellcheck disable=SC2086
        docker rm -f $ids >/dev/null
    fi
}

# Starts the platform stand-in as stack process $1 on port $2 with the connectors file $3 (after stopping the one
# before and waiting until its port is free: a new one must not race the old one's shutdown), and returns once its
# control API answers.
bench_start_standin() {
    local name="$1" port="$2" connectors="$3" token="$4" i
    stack_stop "$name"
    for i in $(seq 1 100); do
        (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null || break
        sleep 0.1
    done
    stack_spawn "$name" dotnet "$REPO_ROOT/tests/Composer.StandIns/bin/Release/net10.0/Composer.StandIns.dll" opencti \
        --port "$port" --token "$token" --connectors "$connectors" || true
    for i in $(seq 1 300); do
        curl -fsS "http://127.0.0.1:$port/_standin/state" > /dev/null 2>&1 && return 0
        sleep 0.1
    done
    echo "the stand-in $name did not answer on port $port; its log:" >&2
    tail -n 20 "$STACK_STATE_DIR/$name.log" >&2
    return 1
}

# The configuration directory that goes with binary $1: its build's own config/ (out/composer -> ./config), so that
# each binary runs with its own defaults (the polling build reports health every 30 s, the new one every 240 s);
# the repository's config/ when the binary is not in a build tree.
bench_config_dir() {
    local dir
    dir="$(cd "$(dirname "$1")/.." && pwd)/config"
    if [ -f "$dir/default.yaml" ]; then echo "$dir"; else echo "$REPO_ROOT/config"; fi
}

# Starts `$composer run` with a clean environment, the config of $work/config and the caller's extra_env, logging to
# $work/composer.log; sets composer_pid.
bench_start_composer() {
    env -i PATH=/usr/bin:/bin HOME="$work" COMPOSER_ENV=bench COMPOSER_CONFIG_DIR="$work/config" "${extra_env[@]}" \
        "$composer" run > "$work/composer.log" 2>&1 &
    composer_pid=$!
}

# Waits until $2 containers of manager $1 run, at most $3 seconds (exits saying why otherwise: composer gone, or no
# convergence); sets started (when the wait began, in $SECONDS) and running.
bench_wait_running() {
    local manager="$1" wanted="$2" limit="$3"
    started=$SECONDS
    while :; do
        running="$(docker ps -q --filter "label=opencti-manager=$manager" --filter status=running | wc -l)"
        [ "$running" -ge "$wanted" ] && break
        kill -0 "$composer_pid" 2>/dev/null || { say "composer exited:"; tail -n 20 "$work/composer.log" >&2; exit 1; }
        if [ $((SECONDS - started)) -gt "$limit" ]; then say "no convergence after $limit s ($running running)"; tail -n 20 "$work/composer.log" >&2; exit 1; fi
        sleep 1
    done
}
