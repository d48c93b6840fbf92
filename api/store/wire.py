"""What both Redis clients' connections put on the wire, what they skip, and (through
Sentinel) what they check on connecting.

redis-py's connections (8.x) spend more CPU around a command than on it. Measured on a
webhook delivery (about 35 commands, most of them RQ's), two costs stood out:
- packing: the serializer copies every argument (to convert any bytearray or memoryview)
  before hiredis packs the command, four times the cost of the packing itself;
- HIMPORT: every pipeline is scanned, command by command, for `HIMPORT SET`s whose
  fieldsets need preparing on the connection. inloop never uses HIMPORT, so its
  connections carry no HIMPORT registry, which makes that scan a no-op.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable
from typing import Any

import hiredis
from redis.connection import HiredisRespSerializer
from redis.exceptions import ConnectionError as RedisConnectionError

_HIREDIS = HiredisRespSerializer()


class LeanWire:
    """A connection mixin: commands packed straight by hiredis, and no HIMPORT registry
    (a TLS or unix-socket URL keeps redis-py's own connection class)."""

    himport_registry: Any

    def __init__(self, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.himport_registry = None

    def pack_command(self, *args: Any) -> list[bytes]:
        return [_packed(args)]

    def pack_commands(self, commands: Iterable[Iterable[Any]]) -> list[bytes]:
        return [b"".join(map(_packed, commands))]


def refuse_a_replica(role: Any, host: str, port: int) -> None:
    """Raise ConnectionError unless `role` (the reply to ROLE) is a primary's.

    Through a failover, a sentinel that has not yet heard of the promotion still names the
    old primary, which its supervisor may have brought back as a replica: a connection
    there would read its stale data (a task created since reads as missing) until a write
    failed READONLY. Refused at connect, the connection asks the sentinels again."""
    name = role[0].decode() if isinstance(role[0], bytes) else str(role[0])
    if name != "master":
        raise RedisConnectionError(f"{host}:{port} is a {name}, not the primary (yet)")


def _packed(args: Any) -> bytes:  # a tuple, as redis-py's commands are
    """One command in RESP. Only a command that hiredis refuses (a bytearray argument) or
    one named in two words ("CLIENT SETNAME") takes redis-py's own way."""
    name = args[0]
    if isinstance(name, str) and " " not in name:
        with contextlib.suppress(TypeError):
            return hiredis.pack_command(args)
    return _HIREDIS.pack(*args)[0]
