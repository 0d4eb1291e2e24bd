"""A fake kdb+ tickerplant for tests: a q IPC server that accepts the handshake (optionally
checking a password) and prints one JSON line per event on stdout: {"event":"listening","port":P},
{"event":"connect","hello":hex}, {"event":"message","type":0,"hex":hex} (an async message, whole),
{"event":"query","text":...} (a sync one), {"event":"disconnect"}.

Sync queries get an empty list, except tickbus's schema query
(`{x:(),x;x!{$[x in tables[];(cols x;exec t from meta x);`]}each x}`t1`t2...`), answered as q
would answer it for the tables of a sym.q file (`--schema FILE`, default deploy/kdb/sym.q, as in
an unmodified tick.q started with it; `--schema none` answers it with an empty list too).

`--delay-ms N` makes it slow: it waits N ms before reading each message after the handshake
(as a tickerplant busy with its subscribers), so what is sent piles up in the kernel's buffers.

Run it as a separate process:
python3 fake_tickerplant.py [--port P] [--password PW] [--schema F] [--delay-ms N]
"""
import argparse
import asyncio
import json
import pathlib
import re
import struct
import sys

SYM_Q = pathlib.Path(__file__).resolve().parents[2] / "deploy" / "kdb" / "sym.q"
SCHEMA_QUERY = re.compile(r"^\{x:\(\),x;x!\{\$\[x in tables\[\];\(cols x;exec t from meta x\);`\]\}each x\}((?:`\w+)+)$")
TYPE_CHARS = {"boolean": "b", "short": "h", "int": "i", "long": "j", "real": "e", "float": "f", "char": "c",
              "symbol": "s", "timestamp": "p", "date": "d", "timespan": "n", "time": "t"}
EMPTY_LIST = bytes([0, 0, 0, 0, 0, 0])


def read_sym_q(path):
    """table -> [(column, meta type char)] of `name:([]col:`type$();...)` lines (and `a:b` copies);
    a `()` column is a general list, meta type " " while empty."""
    tables = {}
    for line in pathlib.Path(path).read_text().splitlines():
        if line.startswith("/"):
            continue
        match = re.match(r"^(\w+):\(\[\](.*)\)$", line)
        if match:
            columns = []
            for column in match.group(2).split(";"):
                name, _, expr = column.partition(":")
                kind = re.search(r"`(\w+)\$\(\)$", expr)
                columns.append((name, TYPE_CHARS[kind.group(1)] if kind else " "))
            tables[match.group(1)] = columns
        elif re.match(r"^\w+:\w+$", line) and line.split(":")[1] in tables:
            tables[line.split(":")[0]] = tables[line.split(":")[1]]
    return tables


def symbols(names):
    return bytes([11, 0]) + struct.pack("<i", len(names)) + b"".join(n.encode() + b"\0" for n in names)


def schema_reply(tables, names):
    """The q IPC bytes (payload) q returns for the schema query over `names`."""
    values = []
    for name in names:
        if name in tables:
            cols = [c for c, _ in tables[name]]
            types = "".join(t for _, t in tables[name]).encode()
            values.append(bytes([0, 0]) + struct.pack("<i", 2) + symbols(cols)
                          + bytes([10, 0]) + struct.pack("<i", len(types)) + types)
        else:
            values.append(bytes([256 - 11]) + b"\0")  # ` (q makes a symbol vector if all are missing)
    return bytes([99]) + symbols(names) + bytes([0, 0]) + struct.pack("<i", len(values)) + b"".join(values)


def char_vector(body):
    """The text of a sync message that is a char vector, else None."""
    if len(body) >= 6 and body[0] == 10:
        (n,) = struct.unpack("<i", body[2:6])
        return body[6:6 + n].decode("latin-1")
    return None


def emit(**event):
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


async def handle(reader, writer, password, tables, delay):
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
            if delay:
                await asyncio.sleep(delay)
            header = await reader.readexactly(8)
            (length,) = struct.unpack("<I", header[4:])
            body = await reader.readexactly(length - 8)
            if header[1] != 1:
                emit(event="message", type=header[1], hex=(header + body).hex())
                continue
            text = char_vector(body)
            emit(event="query", text=text)
            match = SCHEMA_QUERY.match(text or "")
            payload = EMPTY_LIST
            if match and tables is not None:
                payload = schema_reply(tables, match.group(1)[1:].split("`"))
            writer.write(bytes([1, 2, 0, 0]) + struct.pack("<I", 8 + len(payload)) + payload)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionResetError):
        emit(event="disconnect")
    finally:
        writer.close()


async def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--port", type=int, default=0)
    ap.add_argument("--password")
    ap.add_argument("--schema", default=str(SYM_Q))
    ap.add_argument("--delay-ms", type=float, default=0)
    args = ap.parse_args()
    tables = None if args.schema == "none" else read_sym_q(args.schema)
    server = await asyncio.start_server(lambda r, w: handle(r, w, args.password, tables, args.delay_ms / 1000), "127.0.0.1", args.port)
    emit(event="listening", port=server.sockets[0].getsockname()[1])
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
