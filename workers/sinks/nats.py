"""NATS sink: JetStream publish with ack when a stream captures the subject, else core
publish + flush. Connections are short and never reconnect: retries belong to RQ.

Core publish is a fallback only where JetStream is off (nobody serves its API, or the
server says "not enabled"); any other JetStream trouble (a 503 while a cluster elects its
leader, a timeout) fails the attempt, so RQ retries rather than losing the event's ack.
"""

from __future__ import annotations

import asyncio
import math
import time

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.js.api import PubAck
from nats.js.errors import NotFoundError, ServiceUnavailableError

from api.domain.events import Attempt
from api.domain.task import NatsSink
from api.settings import Settings
from workers.sinks.base import SinkCall, elapsed_ms

# JetStream's "not enabled for account" and "not enabled" API error codes.
JETSTREAM_NOT_ENABLED = (10039, 10076)


async def _quiet(_error: Exception) -> None:
    """Errors surface as exceptions of the publish itself; nothing to log twice."""


async def publish(url: str, subject: str, body: bytes, event_id: str,
                  timeout: float = 2) -> PubAck | None:
    """Publish once; JetStream's ack (stored, deduplicated by event id), or None for a
    core publish."""
    # max_reconnect_attempts=0 would mean "forever" to the first connect's server loop.
    client = await nats.connect(url, allow_reconnect=False, connect_timeout=timeout,
                                max_reconnect_attempts=1, reconnect_time_wait=0,
                                error_cb=_quiet)
    try:
        return await _publish(client, subject, body, {"Nats-Msg-Id": event_id}, timeout)
    finally:
        await client.close()


async def _publish(client: Client, subject: str, body: bytes, headers: dict[str, str],
                   timeout: float) -> PubAck | None:
    js = client.jetstream(timeout=timeout)
    if await _captured(js, subject):
        return await js.publish(subject, body, headers=headers, timeout=timeout)
    await client.publish(subject, body, headers=headers)
    await client.flush(timeout=math.ceil(timeout))
    return None


async def _captured(js: nats.js.JetStreamContext, subject: str) -> bool:
    try:
        await js.find_stream_name_by_subject(subject)
    except NotFoundError:
        return False
    except NoRespondersError:
        return False  # no JetStream on this server
    except ServiceUnavailableError as error:
        if not jetstream_off(error):
            raise
        return False
    return True


def jetstream_off(error: ServiceUnavailableError) -> bool:
    """A 503 meaning JetStream is not enabled, not that it is unavailable for now."""
    # A no-responders status (nobody serves the JetStream API) comes without any code.
    no_responders = error.code is None and error.err_code is None
    return no_responders or error.err_code in JETSTREAM_NOT_ENABLED


def send_nats(url: str, subject: str, body: bytes, event_id: str, timeout: float) -> Attempt:
    """One attempt from a sync RQ job."""
    started = time.monotonic()
    try:
        ack = asyncio.run(asyncio.wait_for(publish(url, subject, body, event_id, timeout),
                                           timeout * 4))
    except (NatsError, OSError, TimeoutError) as error:
        message = f"NATS failed: {type(error).__name__}: {error}"[:300]
        return Attempt(False, elapsed_ms(started), error=message)
    return Attempt(True, elapsed_ms(started), detail=ack_detail(ack))


class NatsTransport:
    """Publishes to the settings' NATS server, one short connection per attempt."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings

    def send(self, call: SinkCall) -> Attempt:
        assert isinstance(call.sink, NatsSink)  # the registry routes by sink type
        return send_nats(self.settings.nats_url, call.sink.subject, call.body, call.event_id,
                         self.settings.nats_connect_timeout_s)


def ack_detail(ack: PubAck | None) -> str:
    if ack is None:
        return "core publish (no JetStream stream captures the subject)"
    duplicate = " (duplicate: the stream already had this event id)" if ack.duplicate else ""
    return f"JetStream stream {ack.stream} seq {ack.seq}{duplicate}"
