#!/usr/bin/env bash
# Prepares the build context of the Composer image (deploy/Dockerfile, FROM scratch) in DIR, from the published
# static binary: the Dockerfile, the binary, the host's CA bundle, config/default.yaml and the user entry (uid and
# gid 65532, "composer"). Then build it, with no registry and no network:
#
#   dotnet publish src/Composer -c Release -o out
#   deploy/image-context.sh DIR [BINARY]        (BINARY: default out/composer)
#   docker build --build-arg VERSION="$(out/composer --version)" -t composer:"$(out/composer --version)" DIR
#
# The CA bundle is the build machine's /etc/ssl/certs/ca-certificates.crt (CA_BUNDLE=path for another one): the
# roots the image trusts, and the base of the bundle connectors receive when a proxy CA is configured.
set -euo pipefail

repo="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dir="${1:?usage: $0 DIR [BINARY]}"
binary="${2:-$repo/out/composer}"
ca_bundle="${CA_BUNDLE:-/etc/ssl/certs/ca-certificates.crt}"

[ -x "$binary" ] || { echo "image-context: $binary not found: dotnet publish src/Composer -c Release -o out" >&2; exit 1; }
[ -s "$ca_bundle" ] || { echo "image-context: no CA bundle at $ca_bundle (apt-get install ca-certificates, or CA_BUNDLE=path)" >&2; exit 1; }
# The image has no loader and no libc: only a static executable runs in it.
if readelf -lW "$binary" 2>/dev/null | grep -q 'Requesting program interpreter'; then
    echo "image-context: $binary is dynamically linked; the scratch image needs the static build (StaticExecutable)" >&2
    exit 1
fi

mkdir -p "$dir"
install -m 0644 "$repo/deploy/Dockerfile" "$dir/Dockerfile"
install -m 0755 "$binary" "$dir/composer"
install -m 0644 "$ca_bundle" "$dir/ca-certificates.crt"
install -m 0644 "$repo/config/default.yaml" "$dir/default.yaml"
printf 'composer:x:65532:65532:Composer:/opt/composer:/sbin/nologin\n' > "$dir/passwd"
printf 'composer:x:65532:\n' > "$dir/group"
chmod 0644 "$dir/passwd" "$dir/group"
echo "image-context: $dir ready (docker build -t composer:\"\$($binary --version)\" $dir)" >&2
