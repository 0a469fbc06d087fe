#!/usr/bin/env python3
"""A relay in front of the Docker engine's socket that counts the requests passing through it, by kind.

    count-engine-requests.py <listen socket> <engine socket> <counts file>

Each connection is relayed to the engine as is; the client's side of each one is read on its own (never interleaved
with another connection's), so every request line is seen whole: its method and path, the API version and the
query dropped. On SIGTERM the counts are written to the counts file, one "<count> <method> <path kind>" a line.
"""
import asyncio
import re
import signal
import sys
from collections import Counter

REQUEST = re.compile(rb"(GET|POST|PUT|DELETE|HEAD) (/[^ ?\r\n]*)[^\r\n]* HTTP/1\.[01]\r\n")
KINDS = [
    (re.compile(r"^/containers/json$"), "/containers/json (full listing)"),
    (re.compile(r"^/containers/[^/]+/json$"), "/containers/{id}/json (inspect)"),
    (re.compile(r"^/containers/[^/]+/([a-z]+)$"), "/containers/{id}/{0}"),
    (re.compile(r"^/images/.+/json$"), "/images/{name}/json"),
]
counts = Counter()


def kind(path):
    path = re.sub(r"^/v[0-9.]+/", "/", path)
    for pattern, name in KINDS:
        match = pattern.match(path)
        if match:
            return name.replace("{0}", match.group(1)) if match.groups() else name
    return path


async def pipe(reader, writer, count):
    seen = b""
    try:
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
            if count:
                # Keep a tail so that a request line split between two reads is still found once.
                seen += data
                last = 0
                for match in REQUEST.finditer(seen):
                    counts[f"{match.group(1).decode()} {kind(match.group(2).decode())}"] += 1
                    last = match.end()
                seen = seen[max(last, len(seen) - 4096):]
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        writer.close()


async def main(listen, engine, out):
    async def relay(client_reader, client_writer):
        engine_reader, engine_writer = await asyncio.open_unix_connection(engine)
        await asyncio.gather(pipe(client_reader, engine_writer, True), pipe(engine_reader, client_writer, False))

    server = await asyncio.start_unix_server(relay, path=listen)
    stop = asyncio.Event()
    asyncio.get_running_loop().add_signal_handler(signal.SIGTERM, stop.set)
    await stop.wait()
    server.close()
    with open(out, "w") as f:
        for name, n in sorted(counts.items()):
            f.write(f"{n} {name}\n")


asyncio.run(main(*sys.argv[1:4]))
