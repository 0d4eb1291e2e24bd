"""A fake kdb+ tickerplant for tests: a q IPC server that accepts the handshake (optionally
checking a password), answers sync requests with an empty list, and prints one JSON line per
event on stdout: {"event":"listening","port":P}, {"event":"connect","hello":hex},
{"event":"message","type":t,"hex":hex} (the whole raw message), {"event":"disconnect"}.

Run it as a separate process: python3 fake_tickerplant.py [--port P] [--password PW]
"""
import argparse
import asyncio
import json
import struct
import sys


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def handle(reader, writer, password):
    try:
        hello = await reader.readuntil(b"\0")
        emit(event="connect", hello=hello.hex())
        creds = hello[:-1]
        if creds and creds[-1] < 32:
            creds = creds[:-1]
        if password is not None and creds.decode().partition(":")[2] != password:
            emit(event="rejected")
            writer.close()
            return
        writer.write(b"\x03")
        await writer.drain()
        while True:
            header = await reader.readexactly(8)
            (length,) = struct.unpack("<I", header[4:])
            body = await reader.readexactly(length - 8)
            emit(event="message", type=header[1], hex=(header + body).hex())
            if header[1] == 1:  # sync: reply an empty general list
                writer.write(bytes([1, 2, 0, 0, 14, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
                await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        emit(event="disconnect")
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--password")
    args = ap.parse_args()
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.password), "127.0.0.1", args.port)
    emit(event="listening", port=server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
