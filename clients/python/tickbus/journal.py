"""Reading tickbus journal files (docs/journal.md) without any running process (needs numpy;
`read_pandas` needs pandas).

```python
import tickbus.journal as journal

for f in journal.files(".tickbus/journal/ingest"):          # one JournalFile per .tbj file
    print(f.path, f.epoch, f.part, f.messages, f.closed, f.holes, f.problems)
for message in journal.messages(".tickbus/journal/ingest", topics=["T.AAPL"]):
    record = tickbus.decode(message)                         # the exact bytes published
trades = journal.read(".tickbus/journal/ingest", kind="trade")      # numpy structured array
frame = journal.read_pandas(".tickbus/journal/ingest", kind="bar")  # as tickbus.arrays.to_pandas
```

Paths are files or directories (a directory stands for its `*.tbj` files in name order, which is
time order); several paths are read in the order given. Every check of docs/journal.md is made:
the file header (magic, version, header size, wire version, CRC), and per block its magic,
header CRC, kind, that its payload lies within the file, the payload CRC, and that its messages
(or hole ranges) fill the payload exactly. The first block that fails ends what is trusted in
that file: it is a `Problem` of kind `"torn_tail"` when no valid block header follows it
anywhere in the file (a crash while writing; repair would cut it), else `"corrupt"`. The
readers (`messages`, `read`, `read_pandas`) stop that file there and go on with the next file;
with `strict=True` they raise `JournalError` instead (after the messages before it).

`since` (int ns since 1970 UTC, or a `datetime`; a naive one is taken as UTC) skips, in each
file, the blocks whose `last_time` (when the block was handed to the writer) is before `since`,
without reading their payloads (the block headers are the file's index), and starts at the
first block whose `last_time >= since`; from there, in every block whose `first_time` is before
`since` (the block that straddles `since`), the messages whose record's `ts_recv` is before
`since` are skipped (a message too short to hold a `ts_recv` is kept); later blocks are read
whole. Payload CRCs of skipped blocks are not checked (`files` and `verify` check everything).

Files are read in chunks of whole blocks (64 MiB), message boundaries are found for all the
blocks of a chunk at once with numpy (one step per message position, for every block together),
and `read` picks and checks rows with numpy (`tickbus.arrays` checks); only `messages` makes one
`bytes` object per message.
"""

from __future__ import annotations

import os
import struct
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Dict, Iterable, Iterator, List, Optional, Sequence, Tuple, Union

import numpy as np

from .arrays import DTYPES, MAX_TOPIC, _check
from .topics import TopicFilter
from .wire import WireError, decode

__all__ = [
    "JournalFile", "Hole", "Problem", "JournalError", "files", "messages", "read", "read_pandas", "verify",
    "TORN_TAIL", "CORRUPT", "MAGIC", "BLOCK_MAGIC", "HEADER_SIZE", "BLOCK_HEADER_SIZE",
]

PathArg = Union[str, "os.PathLike[str]"]
PathsArg = Union[PathArg, Iterable[PathArg]]
TimeArg = Union[int, datetime, None]

MAGIC = b"TICKBUSJ"
BLOCK_MAGIC = 0x4B4C4254            # the bytes b"TBLK"
HEADER_SIZE = 128
BLOCK_HEADER_SIZE = 40
VERSION = 1
WIRE_VERSION = 1
MESSAGES, HOLE, END = 1, 2, 3
REPAIRED = 0x0001
#: Problem kinds.
TORN_TAIL = "torn_tail"
CORRUPT = "corrupt"

_FILE_HEADER = struct.Struct("<8sHHIqIIH30s32s28sI")
_BLOCK_HEADER = struct.Struct("<IHHIIqqII")
assert _FILE_HEADER.size == HEADER_SIZE and _BLOCK_HEADER.size == BLOCK_HEADER_SIZE
_U16 = struct.Struct("<H")
_RANGE = struct.Struct("<QQ")
_BLOCK_MAGIC_BYTES = struct.pack("<I", BLOCK_MAGIC)
_CHUNK = 64 << 20                   # bytes of blocks read at once
_TOPIC_WINDOW = 40                  # a topic and its space lie within a message's first 40 bytes
_PAD = max(MAX_TOPIC, 64)           # zeros after a chunk, so fixed-width windows never run off it
_KIND_CODES = {"trade": 1, "quote": 2, "bar": 3, "heartbeat": 5}


class JournalError(ValueError):
    """A journal file that cannot be trusted from `problem.offset` on (raised with `strict=True`)."""

    def __init__(self, path: str, problem: "Problem"):
        super().__init__(f"{path}: {problem.kind} at offset {problem.offset}: {problem.what}")
        self.path = path
        self.problem = problem


@dataclass(frozen=True)
class Hole:
    """Sequence numbers `first`..`last` (both included, of the file's epoch) of `topic` that were
    published but are not in the journal; `reason` 1: the writer was behind, 2: the disk
    refused a write."""

    topic: str
    first: int
    last: int
    reason: int

    @property
    def count(self) -> int:
        return self.last - self.first + 1


@dataclass(frozen=True)
class Problem:
    """What is wrong at byte `offset` of a file; `kind` is `"torn_tail"` (nothing valid follows:
    a crash while writing, which repair cuts) or `"corrupt"` (valid blocks follow)."""

    offset: int
    what: str
    kind: str = CORRUPT


@dataclass
class JournalFile:
    """One journal file: its header, and what its trusted blocks hold. `messages`, `blocks`,
    `first_time`, `last_time` and `holes` count only the blocks before the first problem;
    `first_time` / `last_time` (ns UTC) are the first messages block's `first_time` and the
    last one's `last_time` (None without messages)."""

    path: str
    size: int = 0
    version: int = 0
    epoch: int = 0
    created: int = 0
    day: int = 0
    part: int = 0
    wire_version: int = 0
    publisher: str = ""
    closed: bool = False
    repaired: bool = False
    messages: int = 0
    blocks: int = 0
    first_time: Optional[int] = None
    last_time: Optional[int] = None
    holes: List[Hole] = field(default_factory=list)
    problems: List[Problem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems

    @property
    def torn(self) -> bool:
        return any(p.kind == TORN_TAIL for p in self.problems)

    @property
    def corrupt(self) -> bool:
        return any(p.kind == CORRUPT for p in self.problems)


@dataclass
class _Block:
    offset: int
    kind: int
    flags: int
    length: int
    count: int
    first_time: int
    last_time: int
    payload_crc: int


@dataclass
class _Chunk:
    """Messages of consecutive messages blocks: `data` (the blocks' bytes, then zeros), and per
    message its start and size in `data` and its block's `first_time`."""

    data: bytes
    starts: np.ndarray
    sizes: np.ndarray
    block_first: np.ndarray


# ---------------------------------------------------------------------------------------------
# Paths and arguments


def _paths(path_or_paths: PathsArg) -> List[Path]:
    if isinstance(path_or_paths, (str, os.PathLike)):
        items: Iterable[PathArg] = [path_or_paths]
    else:
        items = path_or_paths
    out: List[Path] = []
    for item in items:
        p = Path(item)
        if p.is_dir():
            out += sorted((c for c in p.iterdir() if c.name.endswith(".tbj") and c.is_file()), key=lambda c: c.name)
        elif p.exists():
            out.append(p)
        else:
            raise FileNotFoundError(f"no journal file or directory {str(p)!r}")
    return out


def _since_ns(since: TimeArg) -> Optional[int]:
    if since is None:
        return None
    if isinstance(since, bool):
        raise TypeError("since must be ns since 1970 UTC (int) or a datetime")
    if isinstance(since, (int, np.integer)):
        return int(since)
    if isinstance(since, datetime):
        value = getattr(since, "value", None)           # pandas.Timestamp: exact ns
        if isinstance(value, int) and since.tzinfo is not None:
            return value
        dt = since if since.tzinfo is not None else since.replace(tzinfo=timezone.utc)
        delta = dt - datetime(1970, 1, 1, tzinfo=timezone.utc)
        return (delta.days * 86400 + delta.seconds) * 1_000_000_000 + delta.microseconds * 1000
    if isinstance(since, np.datetime64):
        return int(since.astype("datetime64[ns]").astype(np.int64))
    raise TypeError("since must be ns since 1970 UTC (int) or a datetime")


def _prefixes(topics: Optional[Sequence[Union[str, TopicFilter]]]) -> Optional[List[bytes]]:
    if topics is None:
        return None
    if isinstance(topics, (str, TopicFilter)):
        topics = [topics]
    out = [t.prefix if isinstance(t, TopicFilter) else TopicFilter(t).prefix for t in topics]
    return None if b"" in out else out


# ---------------------------------------------------------------------------------------------
# One file


def _crc(data) -> int:
    return zlib.crc32(data) & 0xFFFFFFFF


class _Scan:
    """Reads one file: the header, the block headers, then the payloads in chunks. `info`
    is complete once `chunks()` is exhausted."""

    def __init__(self, path: Path):
        self.path = path
        self.info = JournalFile(path=str(path))
        self.failure: Optional[Tuple[int, str]] = None   # the first untrusted offset and why
        self._late: List[Problem] = []                    # problems that do not end the file

    # The file header and the block headers -----------------------------------------------

    def _header(self, f) -> bool:
        info = self.info
        raw = f.read(HEADER_SIZE)
        if len(raw) < HEADER_SIZE:
            self.failure = (0, f"file header cut: {len(raw)} of {HEADER_SIZE} bytes")
            return False
        (magic, version, header_size, epoch, created, day, part, wire_version, _r0, publisher, _r1,
         crc) = _FILE_HEADER.unpack(raw)
        if magic != MAGIC:
            self.failure = (0, f"not a tickbus journal: magic {magic!r}")
            return False
        if crc != _crc(raw[:124]):
            self.failure = (0, "file header CRC mismatch")
            return False
        if version != VERSION or header_size != HEADER_SIZE:
            self.failure = (0, f"unsupported journal version {version} (header size {header_size})")
            return False
        if wire_version != WIRE_VERSION:
            self.failure = (0, f"unsupported wire version {wire_version}")
            return False
        info.version, info.epoch, info.created, info.day, info.part = version, epoch, created, day, part
        info.wire_version = wire_version
        info.publisher = publisher.rstrip(b"\0").decode("utf-8", "replace")
        return True

    def _blocks(self, f) -> List[_Block]:
        """The valid block headers from the file header on, up to the first bad one (then
        `failure` is set) or an end block."""
        size = self.info.size
        blocks: List[_Block] = []
        offset = HEADER_SIZE
        unpack = _BLOCK_HEADER.unpack
        while offset < size:
            f.seek(offset)
            raw = f.read(BLOCK_HEADER_SIZE)
            if len(raw) < BLOCK_HEADER_SIZE:
                self.failure = (offset, f"block header cut: {len(raw)} of {BLOCK_HEADER_SIZE} bytes")
                break
            magic, kind, flags, length, count, first, last, payload_crc, header_crc = unpack(raw)
            why = None
            if magic != BLOCK_MAGIC:
                why = "no block magic"
            elif header_crc != _crc(raw[:36]):
                why = "block header CRC mismatch"
            elif kind not in (MESSAGES, HOLE, END):
                why = f"unknown block kind {kind}"
            elif offset + BLOCK_HEADER_SIZE + length > size:
                why = f"payload of {length} bytes runs past the end of the file ({size} bytes)"
            elif kind == END and length != 0:
                why = f"end block with a payload of {length} bytes"
            elif kind == MESSAGES and count * 2 > length:
                why = f"{count} messages cannot fit in {length} bytes"
            elif kind == HOLE and count * 18 > length:
                why = f"{count} hole ranges cannot fit in {length} bytes"
            if why is not None:
                self.failure = (offset, why)
                break
            blocks.append(_Block(offset, kind, flags, length, count, first, last, payload_crc))
            offset += BLOCK_HEADER_SIZE + length
            if kind == END:
                if offset < size:
                    self.failure = (offset, f"{size - offset} bytes after the end block")
                break
        return blocks

    # Payloads ------------------------------------------------------------------------------

    def _holes(self, payload: bytes, block: _Block) -> Optional[List[Hole]]:
        holes: List[Hole] = []
        at = 0
        n = len(payload)
        for _ in range(block.count):
            if at + 2 > n:
                return None
            (length,) = _U16.unpack_from(payload, at)
            at += 2
            if at + length + 16 > n:
                return None
            topic = payload[at:at + length].decode("ascii", "replace")
            first, last = _RANGE.unpack_from(payload, at + length)
            at += length + 16
            if first > last:
                return None
            holes.append(Hole(topic, first, last, block.flags))
        return holes if at == n else None

    def chunks(self, since: Optional[int] = None) -> Iterator[_Chunk]:
        info = self.info
        with open(self.path, "rb") as f:
            info.size = os.fstat(f.fileno()).st_size
            if self._header(f):
                blocks = self._blocks(f)
                yield from self._payloads(f, blocks, since)
            if self.failure is not None:
                offset, what = self.failure
                follows = self._valid_header_after(f, offset)
                if follows is None:
                    info.problems.append(Problem(offset, what, TORN_TAIL))
                else:
                    info.problems.append(Problem(offset, f"{what}; a valid block follows at offset {follows}",
                                                 CORRUPT))
            info.problems.extend(self._late)

    def _payloads(self, f, blocks: List[_Block], since: Optional[int]) -> Iterator[_Chunk]:
        info = self.info
        start = 0
        if since is not None:
            while start < len(blocks) and not (blocks[start].kind == MESSAGES and blocks[start].last_time >= since) \
                    and blocks[start].kind != END:
                start += 1
        n = start
        while n < len(blocks):
            # A chunk: blocks n..m-1, at most _CHUNK bytes (at least one block).
            first_offset = blocks[n].offset
            m = n + 1
            while m < len(blocks) and blocks[m].offset + BLOCK_HEADER_SIZE + blocks[m].length - first_offset <= _CHUNK:
                m += 1
            last = blocks[m - 1]
            f.seek(first_offset)
            want = last.offset + BLOCK_HEADER_SIZE + last.length - first_offset
            raw = f.read(want)
            if len(raw) < want:       # the file shrank under us: what is missing is a torn tail
                m = n
                while m < len(blocks) and blocks[m].offset + BLOCK_HEADER_SIZE + blocks[m].length - first_offset <= len(raw):
                    m += 1
                self.failure = (blocks[m].offset if m < len(blocks) else first_offset + len(raw),
                                "file shrank while being read")
                blocks = blocks[:m]
            data = raw + bytes(_PAD)
            good: List[_Block] = []
            for b in blocks[n:m]:
                a = b.offset - first_offset + BLOCK_HEADER_SIZE
                if _crc(memoryview(data)[a:a + b.length]) != b.payload_crc:
                    self.failure = (b.offset, "payload CRC mismatch")
                    break
                good.append(b)
            # Messages: all the chunk's messages blocks at once.
            mblocks = [b for b in good if b.kind == MESSAGES]
            buf = np.frombuffer(data, np.uint8)
            if mblocks:
                pstart = np.array([b.offset - first_offset + BLOCK_HEADER_SIZE for b in mblocks], np.int64)
                pend = pstart + np.array([b.length for b in mblocks], np.int64)
                counts = np.array([b.count for b in mblocks], np.int64)
                starts, sizes, ok = _walk(buf, pstart, pend, counts)
                if not ok.all():
                    bad = mblocks[int(np.argmin(ok))]
                    if self.failure is None or bad.offset < self.failure[0]:
                        self.failure = (bad.offset, "messages do not fill the block's payload exactly")
                    good = [b for b in good if b.offset < bad.offset]
            # Hole blocks (rare): one by one.
            trusted: List[_Block] = []
            for b in good:
                if b.kind == HOLE:
                    a = b.offset - first_offset + BLOCK_HEADER_SIZE
                    holes = self._holes(data[a:a + b.length], b)
                    if holes is None:
                        self.failure = (b.offset, "hole ranges do not fill the block's payload exactly")
                        break
                    info.holes.extend(holes)
                trusted.append(b)
            mtrusted = [b for b in trusted if b.kind == MESSAGES]
            for b in trusted:
                info.blocks += 1
                if b.kind == MESSAGES:
                    info.messages += b.count
                    if info.first_time is None:
                        info.first_time = b.first_time
                    info.last_time = b.last_time
                elif b.kind == END:
                    info.closed = True
                    info.repaired = bool(b.flags & REPAIRED)
                    if b.count != info.messages and start == 0:
                        self._late.append(Problem(b.offset, f"end block counts {b.count} messages, the file has "
                                                  f"{info.messages}", CORRUPT))
            if mtrusted:
                kept = sum(b.count for b in mtrusted)
                block_first = np.repeat(np.array([b.first_time for b in mtrusted], np.int64),
                                        np.array([b.count for b in mtrusted], np.int64))
                yield _Chunk(data, starts[:kept], sizes[:kept], block_first)
            if len(trusted) < m - n or self.failure is not None and self.failure[0] <= last.offset:
                return
            n = m

    def _valid_header_after(self, f, offset: int) -> Optional[int]:
        """The offset of the first valid block header (magic, header CRC, kind) after `offset`,
        or None: the difference between a torn tail and a corrupt file."""
        size = self.info.size
        at = offset + 1
        overlap = BLOCK_HEADER_SIZE - 1
        while at + BLOCK_HEADER_SIZE <= size:
            f.seek(at)
            raw = f.read(min(_CHUNK, size - at))
            if len(raw) < BLOCK_HEADER_SIZE:
                return None
            i = raw.find(_BLOCK_MAGIC_BYTES)
            while 0 <= i <= len(raw) - BLOCK_HEADER_SIZE:
                head = raw[i:i + BLOCK_HEADER_SIZE]
                fields = _BLOCK_HEADER.unpack(head)
                if fields[8] == _crc(head[:36]) and fields[1] in (MESSAGES, HOLE, END):
                    return at + i
                i = raw.find(_BLOCK_MAGIC_BYTES, i + 1)
            if at + len(raw) >= size:
                return None
            at += len(raw) - overlap
        return None


def _walk(buf: np.ndarray, pstart: np.ndarray, pend: np.ndarray, counts: np.ndarray):
    """Message boundaries of many messages blocks at once: each block's payload
    `buf[pstart:pend]` holds `counts` messages, each a u32 length and that many bytes. Returns
    each message's start and size (blocks in order, messages in order) and per block whether its
    messages fill its payload exactly. One numpy step per message position, over every block
    that has a message there (the blocks sorted by count, so they are a prefix)."""
    nb = len(counts)
    total = int(counts.sum())
    out_start = np.zeros(total, np.int64)
    out_size = np.zeros(total, np.int64)
    if nb == 0:
        return out_start, out_size, np.ones(0, bool)
    order = np.argsort(-counts, kind="stable")
    sorted_counts = counts[order].tolist()
    base = (np.cumsum(counts) - counts)[order]
    pos = pstart[order].copy()
    end = pend[order]
    bad = np.zeros(nb, bool)
    limit = len(buf) - 4
    active = nb
    for t in range(sorted_counts[0]):
        while sorted_counts[active - 1] <= t:
            active -= 1
        if active <= 2 and sorted_counts[0] - t > 64:
            # A few blocks with many more messages than the rest (a crafted file, or huge
            # blocks): a numpy step per message would cost microseconds; walk them in Python.
            for k in range(active):
                _walk_one(buf, k, t, sorted_counts[k], pos, end, bad, base, out_start, out_size)
            break
        p = pos[:active]
        q = np.minimum(p, limit)
        n = (buf[q].astype(np.int64) | (buf[q + 1].astype(np.int64) << 8)
             | (buf[q + 2].astype(np.int64) << 16) | (buf[q + 3].astype(np.int64) << 24))
        nxt = p + 4 + n
        e = end[:active]
        bad[:active] |= nxt > e
        at = base[:active] + t
        out_start[at] = p + 4
        out_size[at] = n
        pos[:active] = np.minimum(nxt, e)
    bad |= pos != end
    ok = np.empty(nb, bool)
    ok[order] = ~bad
    return out_start, out_size, ok


# ---------------------------------------------------------------------------------------------
# Selecting messages in a chunk


def _at(data: bytes, dtype, index: np.ndarray) -> np.ndarray:
    """Values of `dtype` starting at the byte offsets `index` of `data` (which must have
    `dtype.itemsize` bytes after each). Gathered as `S<size>` items from an overlapping view
    (one memcpy each; numpy copies structured and void items several times slower), then viewed
    as `dtype`."""
    dtype = np.dtype(dtype)
    raw = np.dtype(f"S{dtype.itemsize}")
    view = np.ndarray(shape=(len(data) - dtype.itemsize + 1,), dtype=raw, buffer=data, strides=(1,))
    return view[index].view(dtype)


def _walk_one(buf: np.ndarray, k: int, t: int, count: int, pos: np.ndarray, end: np.ndarray, bad: np.ndarray,
              base: np.ndarray, out_start: np.ndarray, out_size: np.ndarray) -> None:
    """`_walk`'s steps `t`..`count - 1` for the block in row `k`, one message at a time."""
    p, e, at = int(pos[k]), int(end[k]), int(base[k])
    data = memoryview(buf)
    starts: List[int] = []
    sizes: List[int] = []
    for _ in range(t, count):
        if p + 4 > e:
            bad[k] = True
            break
        n = data[p] | (data[p + 1] << 8) | (data[p + 2] << 16) | (data[p + 3] << 24)
        starts.append(p + 4)
        sizes.append(n)
        p += 4 + n
        if p > e:
            bad[k] = True
            break
    out_start[at + t:at + t + len(starts)] = starts
    out_size[at + t:at + t + len(sizes)] = sizes
    pos[k] = min(p, e)


def _topic_ends(data: bytes, starts: np.ndarray, sizes: np.ndarray, width: int = _TOPIC_WINDOW):
    """Per message: its first `width` bytes (n, width) and where its topic ends (the first
    space within 40 bytes and not at 0), or -1."""
    heads = _at(data, f"S{width}", starts).view(np.uint8).reshape(len(starts), width)
    space = heads[:, :_TOPIC_WINDOW] == 0x20
    ends = np.where(space.any(axis=1), space.argmax(axis=1), -1)
    ends[(ends >= sizes) | (ends == 0)] = -1
    return heads, ends


def _select(chunk: _Chunk, prefixes: Optional[List[bytes]], since: Optional[int]):
    """The mask of the chunk's messages that pass the topic and time filters, with the
    messages' first bytes and topic ends."""
    width = max([_TOPIC_WINDOW] + [len(p) for p in prefixes or ()])
    heads, ends = _topic_ends(chunk.data, chunk.starts, chunk.sizes, width)
    keep = np.ones(len(chunk.starts), bool)
    if prefixes is not None:
        match = np.zeros(len(chunk.starts), bool)
        for p in prefixes:
            want = np.frombuffer(p, np.uint8)
            match |= (chunk.sizes >= len(p)) & (heads[:, :len(p)] == want).all(axis=1)
        keep &= match
    if since is not None:
        straddle = chunk.block_first < since
        if straddle.any():
            rows = np.flatnonzero(straddle & keep & (ends > 0) & (chunk.sizes >= ends + 1 + 40))
            at = chunk.starts[rows] + ends[rows] + 1 + 32
            ts = _at(chunk.data, "<i8", at)
            keep[rows[ts < since]] = False
    return keep, heads, ends


def _scans(path_or_paths: PathsArg) -> Iterator[_Scan]:
    for p in _paths(path_or_paths):
        yield _Scan(p)


def _raise_if(scan: _Scan, strict: bool) -> None:
    if strict and scan.info.problems:
        raise JournalError(scan.info.path, scan.info.problems[0])


# ---------------------------------------------------------------------------------------------
# The API


def files(path_or_paths: PathsArg) -> List[JournalFile]:
    """Every journal file (directories: their `*.tbj` files in name order) with its header,
    counts, times, holes and problems; every block is checked."""
    out = []
    for scan in _scans(path_or_paths):
        for _ in scan.chunks():
            pass
        out.append(scan.info)
    return out


def verify(path_or_paths: PathsArg) -> Dict[str, List[Problem]]:
    """The problems of every file, by path (an empty list: the file is sound)."""
    return {f.path: f.problems for f in files(path_or_paths)}


def messages(path_or_paths: PathsArg, topics: Optional[Sequence[Union[str, TopicFilter]]] = None,
             since: TimeArg = None, strict: bool = False) -> Iterator[bytes]:
    """The bus messages (topic, space, record: exactly the bytes published) in journal order.
    `topics`: patterns with the bus's prefix rules (`T.AAPL` exact, `T.` or `T.*` every trade,
    `*` everything; see `tickbus.topics.TopicFilter`). `since`: see the module's doc. A file
    with a problem ends at it (`strict=True`: raises `JournalError` there)."""
    prefixes = _prefixes(topics)
    since_ns = _since_ns(since)
    for scan in _scans(path_or_paths):
        for chunk in scan.chunks(since_ns):
            data = chunk.data
            if prefixes is None and since_ns is None:
                rows_start, rows_size = chunk.starts, chunk.sizes
            else:
                keep, _, _ = _select(chunk, prefixes, since_ns)
                rows_start, rows_size = chunk.starts[keep], chunk.sizes[keep]
            for s, n in zip(rows_start.tolist(), rows_size.tolist()):
                yield data[s:s + n]
        _raise_if(scan, strict)


def read(path_or_paths: PathsArg, kind: str = "trade", topics: Optional[Sequence[Union[str, TopicFilter]]] = None,
         since: TimeArg = None, strict: bool = False, check: bool = True) -> np.ndarray:
    """The records of one fixed-size kind (`"trade"`, `"quote"`, `"bar"`, `"heartbeat"`) as one
    numpy structured array of `tickbus.arrays`' dtype, in journal order; `topics`, `since` and
    `strict` as for `messages`. Every row is checked as `tickbus.decode` would; a message of
    this kind that fails is left out (`strict=True`: raises its `WireError`). `check=False`
    skips those record checks (the journal's CRCs still hold: the bytes are the ones the
    publisher encoded) and only picks the messages of the kind's topic shape and size, about
    three times as fast."""
    code = _KIND_CODES.get(kind)
    if code is None:
        raise ValueError(f"no fixed-size dtype for kind {kind!r}: trade, quote, bar or heartbeat "
                         "(status records: messages() and tickbus.decode)")
    dtype = DTYPES[code]
    size = dtype.itemsize
    prefixes = _prefixes(topics)
    since_ns = _since_ns(since)
    parts: List[np.ndarray] = []
    for scan in _scans(path_or_paths):
        for chunk in scan.chunks(since_ns):
            buf = np.frombuffer(chunk.data, np.uint8)
            keep, heads, ends = _select(chunk, prefixes, since_ns)
            long_enough = (ends > 0) & (chunk.sizes >= ends + 1 + 64)
            kind_at = np.where(long_enough, chunk.starts + ends + 4, 0)
            mine = keep & long_enough & (buf[kind_at] == code)
            right = mine & (chunk.sizes == ends + 1 + size)
            rows = np.flatnonzero(right)
            if len(rows) == 0 and not strict:
                continue
            array = _at(chunk.data, dtype, chunk.starts[rows] + ends[rows] + 1)
            if not check:
                parts.append(array)
                continue
            ok = _check(array, code, heads[rows], ends[rows])
            if strict:
                wrong = mine & ~right
                wrong[rows[~ok]] = True
                if wrong.any():                    # the first invalid row, in journal order
                    n = int(np.argmax(wrong))
                    s = int(chunk.starts[n])
                    decode(chunk.data[s:s + int(chunk.sizes[n])])  # raises its WireError
                    raise WireError("bad_field", f"message at {s} of a journal chunk is not a valid {kind}")
            if not ok.all():
                array = array[ok]
            parts.append(array)
        _raise_if(scan, strict)
    if not parts:
        return np.empty(0, dtype)
    return np.concatenate(parts) if len(parts) > 1 else parts[0]


def read_pandas(path_or_paths: PathsArg, kind: str = "trade",
                topics: Optional[Sequence[Union[str, TopicFilter]]] = None, since: TimeArg = None,
                strict: bool = False, index: str = "ts_event", check: bool = True):
    """`read(...)` as a DataFrame, as `tickbus.arrays.to_pandas` makes it (a UTC DatetimeIndex
    from `index`, float prices with NaN for the null price)."""
    from .arrays import to_pandas

    return to_pandas(read(path_or_paths, kind, topics, since, strict, check), index=index)
