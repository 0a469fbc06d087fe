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
