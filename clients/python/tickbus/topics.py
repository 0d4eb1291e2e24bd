"""Topic patterns as users type them, turned into ZeroMQ subscription prefixes exactly as the
Swift `TopicFilter` does (docs/bus.md, docs/wire-format.md §3):

- `T.AAPL` is **exact**: the prefix is `b"T.AAPL "` (with the trailing space), so AAPLW's trades
  do not match;
- `T.` or `T.*` is every trade, `T.AA*` every trade whose symbol starts with `AA`;
- `*` or the empty string is everything.

Kinds are checked and written as on the wire (`B1min.` becomes `B1m.`, `B60s.AAPL` `B1m.AAPL`).
"""

from __future__ import annotations

from .wire import bar_label

__all__ = ["TopicFilter", "TopicError", "parse_kind"]


class TopicError(ValueError):
    """Text that is not a topic or topic pattern."""


_KINDS = ("T", "Q", "A", "AM", "S", "H")
_UNITS = {"s": 1, "m": 60, "min": 60, "h": 3600, "d": 86400}


def _interval(label: str):
    """Seconds of a bar label (`15s`, `1m`, `1min`, `4h`, `1d`), or None."""
    digits = 0
    while digits < len(label) and "0" <= label[digits] <= "9":
        digits += 1
    if digits == 0 or digits > 10:
        return None
    count = int(label[:digits])
    unit = _UNITS.get(label[digits:])
    if count == 0 or unit is None or count * unit > 0xFFFFFFFF:
        return None
    return count * unit


def parse_kind(code: str) -> str:
    """The canonical kind code of `T`, `Q`, `A`, `AM`, `S`, `H` or `B<label>`."""
    if code in _KINDS:
        return code
    if code.startswith("B"):
        seconds = _interval(code[1:])
        if seconds is not None:
            return "B" + bar_label(seconds)
    raise TopicError(f'unknown topic kind "{code}": expected T, Q, A, AM, B<label>, S or H')


def _symbol_problem(text: str):
    """Why `text` cannot be a symbol field, or None."""
    raw = text.encode("utf-8")
    if len(raw) > 24:
        return f"{len(raw)} bytes, more than the 24 the field holds"
    for b in raw:
        if not 0x20 < b < 0x7F:
            return f"byte 0x{b:x} is not printable ASCII without spaces"
    return None


class TopicFilter:
    """A subscription pattern; `prefix` is what is sent to ZeroMQ (`SUBSCRIBE`)."""

    __slots__ = ("prefix",)

    def __init__(self, pattern: str):
        if pattern == "" or pattern == "*":
            self.prefix = b""
        elif pattern.endswith("*") or pattern.endswith("."):
            body = pattern[:-1] if pattern.endswith("*") else pattern
            dot = body.find(".")
            if dot >= 0:
                kind = parse_kind(body[:dot])
                symbol_prefix = body[dot + 1:]
                problem = _symbol_problem(symbol_prefix)
                if problem:
                    raise TopicError(f'topic "{pattern}" has a bad symbol: {problem}')
                self.prefix = (kind + "." + symbol_prefix).encode("ascii")
            else:
                self.prefix = body.encode("utf-8")
        else:
            dot = pattern.find(".")
            if dot < 0:
                raise TopicError(f'topic "{pattern}" has no dot: expected KIND.SYMBOL such as T.AAPL')
            kind = parse_kind(pattern[:dot])
            symbol = pattern[dot + 1:]
            if not symbol:
                raise TopicError(f'topic "{pattern}" has a bad symbol: empty')
            problem = _symbol_problem(symbol)
            if problem:
                raise TopicError(f'topic "{pattern}" has a bad symbol: {problem}')
            self.prefix = (kind + "." + symbol + " ").encode("ascii")

    def matches(self, message: bytes) -> bool:
        """Whether a bus message (topic, space, record) passes this filter."""
        return message.startswith(self.prefix)

    @property
    def exact(self) -> bool:
        return self.prefix.endswith(b" ")

    def __str__(self) -> str:
        if not self.prefix:
            return "*"
        text = self.prefix.decode("utf-8", "replace")
        return text[:-1] if text.endswith(" ") else text + "*"

    def __repr__(self) -> str:
        return f"TopicFilter({str(self)!r})"

    def __eq__(self, other) -> bool:
        return isinstance(other, TopicFilter) and other.prefix == self.prefix

    def __hash__(self) -> int:
        return hash(self.prefix)
