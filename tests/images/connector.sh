#!/bin/sh
# The stand-in connector of the tests and the demo (image composer-test/connector:2, built on the busybox test
# image by tests/Composer.Tests/Infrastructure/TestConnectorImage.cs and by scripts/stack.sh build_connector_image).
# The lines it prints are asserted by the tests (TestConnectorImage's constants): change both together, and bump
# the recipe label in both builders.
#
# Modes, chosen by environment variables of the contract:
#   (default)          start line, CA bundle line, a stderr line, then "tick N" every TICK_SECONDS (EXIT_AFTER=n: exit 1 after tick n)
#   CRASH_EXIT_CODE=n  start line, CRASH_LINES (3) numbered lines "crash line i of n", then exit n at once: with
#                      restart policy unless-stopped it crash-loops
#   FLOOD=1            start line, then the same long line (FLOOD_LINE_BYTES, 1000) without pause until stopped;
#                      FLOOD_CONTROL=1 puts control characters (ESC, BEL, CR, SOH, STX) and invalid UTF-8 in it,
#                      FLOOD_STDERR=1 floods stderr too
trap 'echo "connector stopping"; exit 0' TERM INT
echo "connector started: ${CONNECTOR_ID:-unknown}"

if [ -n "$CRASH_EXIT_CODE" ]; then
  n="${CRASH_LINES:-3}"
  i=0
  while [ "$i" -lt "$n" ]; do
    i=$((i + 1))
    echo "crash line $i of $n"
  done
  echo "connector crashing with exit code $CRASH_EXIT_CODE" >&2
  exit "$CRASH_EXIT_CODE"
fi

if [ -n "$FLOOD" ]; then
  size="${FLOOD_LINE_BYTES:-1000}"
  prefix="flood "
  if [ -n "$FLOOD_CONTROL" ]; then prefix="$(/bin/busybox printf 'flood \033[31mred\033[0m \007bell \r\001\002 \377\376bad-utf8 ')"; fi
  pad=x
  while [ "${#pad}" -lt "$size" ]; do pad="$pad$pad"; done
  line="${prefix}${pad}"
  line="${line:0:$size}"
  /bin/busybox yes "$line" &
  out=$!
  err=""
  if [ -n "$FLOOD_STDERR" ]; then /bin/busybox yes "$line" >&2 & err=$!; fi
  trap 'kill $out $err 2>/dev/null; echo "connector stopping"; exit 0' TERM INT
  wait "$out"
  exit 0
fi

if [ -f /etc/ssl/certs/composer-ca-bundle.pem ]; then echo "ca bundle: present"; else echo "ca bundle: missing"; fi
echo "connector stderr ready" >&2
i=0
while true; do
  i=$((i + 1))
  echo "tick $i"
  if [ -n "$EXIT_AFTER" ] && [ "$i" -ge "$EXIT_AFTER" ]; then exit 1; fi
  sleep "${TICK_SECONDS:-1}"
done
