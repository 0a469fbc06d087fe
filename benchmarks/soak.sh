#!/usr/bin/env bash
# The soak test under faults (issue 16 point 4; results in benchmarks/README.md, "Soak under faults"). Not part of the
# test suite: it drives the published out/composer against a private dockerd of its own (never the shared engine at
# /var/run/docker.sock) for SOAK_MINUTES while it kills and removes connectors' containers, restarts that engine, cuts
# the events stream, holds the registry, makes the OpenCTI stand-in answer 503 or hang, and adds, removes, starts,
# stops and reconfigures connectors, all at random from a seed; it checks the invariants every second and at the end.
# Needs root, dockerd, docker-registry (scripts/stack.sh install_packages) and the published binary.
#
#   bash benchmarks/soak.sh                       # SOAK_MINUTES=10 SOAK_CONNECTORS=20 SOAK_EXECUTE_SCHEDULE=5
#   SOAK_SEED=1234 SOAK_MINUTES=2 bash benchmarks/soak.sh
#
# Exit code 0: no invariant broke; 1: at least one did (each printed, with composer's log kept); 2: set-up failed.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1
[ -x "${COMPOSER_BINARY:-out/composer}" ] || { echo "publish first: dotnet publish src/Composer -c Release -o out" >&2; exit 2; }
mkdir -p .state
dotnet build benchmarks/Composer.Soak -c Release > .state/soak-build.log 2>&1 || { tail -n 30 .state/soak-build.log >&2; exit 2; }
exec dotnet benchmarks/Composer.Soak/bin/Release/net10.0/Composer.Soak.dll
