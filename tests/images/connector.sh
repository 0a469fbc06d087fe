#!/bin/sh
# The stand-in connector of the tests and the demo (image composer-test/connector:1, built on the busybox test
# image by tests/Composer.Tests/Infrastructure/TestConnectorImage.cs and by scripts/stack.sh build_connector_image).
# The lines it prints are asserted by the tests (TestConnectorImage's constants): change both together, and bump
# the recipe label in both builders.
trap 'echo "connector stopping"; exit 0' TERM INT
echo "connector started: ${CONNECTOR_ID:-unknown}"
if [ -f /etc/ssl/certs/composer-ca-bundle.pem ]; then echo "ca bundle: present"; else echo "ca bundle: missing"; fi
echo "connector stderr ready" >&2
i=0
while true; do
  i=$((i + 1))
  echo "tick $i"
  if [ -n "$EXIT_AFTER" ] && [ "$i" -ge "$EXIT_AFTER" ]; then exit 1; fi
  sleep "${TICK_SECONDS:-1}"
done
