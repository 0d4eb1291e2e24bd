"""CURVE socket options from `tickbus keygen` files (docs/security.md), for the `options` of
`Subscriber`, `AsyncSubscriber` and `Control`.

```python
from tickbus import Control, Subscriber, curve_options

keys = curve_options("~/.curve/alice.key_secret", "~/.curve/ingest.key")
sub = Subscriber("tcp://10.0.0.5:7700", ["T.AAPL"], options=keys)
ctl = Control("tcp://10.0.0.5:7701", options=keys)
```

The server (`tickbus ingest --curve-secret-key ... --curve-allow ...`) must have the client's
public key (`alice.key`) on its allow list. A client it refuses gets no reply at all: a
`Subscriber` hears nothing, a `Control` raises `ControlTimeout`.
"""

from __future__ import annotations

import os
from typing import Dict, Optional, Tuple, Union

import zmq

__all__ = ["curve_options"]

_Z85_KEY_LENGTH = 40
Path = Union[str, "os.PathLike[str]"]


def _certificate(path: str) -> Tuple[bytes, Optional[bytes]]:
    """(public key, secret key or None) of a CZMQ certificate, as `zmq.auth` reads them."""
    from zmq.auth.certs import load_certificate

    return load_certificate(path)


def _public_key(server_key: Union[Path, bytes]) -> bytes:
    """`--curve-server-key`'s forms: a certificate file (`NAME.key`), a file with one bare Z85 key
    on a line, or the 40 Z85 characters themselves."""
    if isinstance(server_key, bytes):
        if len(server_key) == _Z85_KEY_LENGTH:
            return server_key
        raise ValueError(f"a Z85 public key has {_Z85_KEY_LENGTH} characters, not {len(server_key)}")
    path = os.path.expanduser(os.fspath(server_key))
    if not os.path.exists(path):
        if isinstance(server_key, str) and len(server_key) == _Z85_KEY_LENGTH:
            return server_key.encode("ascii")
        raise FileNotFoundError(f"no server key file {path} (nor a {_Z85_KEY_LENGTH}-character Z85 key)")
    with open(path) as f:
        text = f.read()
    if "public-key" in text:
        return _certificate(path)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip() and not line.lstrip().startswith("#")]
    if lines and len(lines[0]) == _Z85_KEY_LENGTH:
        return lines[0].encode("ascii")
    raise ValueError(f"{path} holds neither a certificate nor a Z85 public key")


def curve_options(secret_key: Path, server_key: Union[Path, bytes]) -> Dict[int, bytes]:
    """The socket options of a CURVE client: this client's key pair from its secret certificate
    (`NAME.key_secret` from `tickbus keygen`), and the public key of the server it connects to
    (its `NAME.key`, a file with the bare Z85 key, or the 40 characters)."""
    path = os.path.expanduser(os.fspath(secret_key))
    public, secret = _certificate(path)
    if not secret:
        raise ValueError(f"{path} holds no secret key: give the NAME.key_secret file of tickbus keygen")
    return {
        zmq.CURVE_PUBLICKEY: public,
        zmq.CURVE_SECRETKEY: secret,
        zmq.CURVE_SERVERKEY: _public_key(server_key),
    }
