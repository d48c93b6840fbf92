"""NATS sink: JetStream publish with ack when a stream captures the subject, else core
publish + flush. Connections are short and never reconnect: retries belong to RQ."""

from __future__ import annotations

import asyncio
import math
import time

import nats
from nats.aio.client import Client
from nats.errors import Error as NatsError
from nats.errors import NoRespondersError
from nats.js.errors import NotFoundError, ServiceUnavailableError

from api.deliveries import Attempt
from workers.timing import elapsed_ms


async def _quiet(_error: Exception) -> None:
    """Errors surface as exceptions of the publish itself; nothing to log twice."""


async def publish(url: str, subject: str, body: bytes, event_id: str,
                  timeout: float = 2) -> bool:
    """Publish once; True when JetStream acked it (stored, deduplicated by event id)."""
    # max_reconnect_attempts=0 would mean "forever" to the first connect's server loop.
    client = await nats.connect(url, allow_reconnect=False, connect_timeout=timeout,
                                max_reconnect_attempts=1, reconnect_time_wait=0,
                                error_cb=_quiet)
    try:
        return await _publish(client, subject, body, {"Nats-Msg-Id": event_id}, timeout)
    finally:
        await client.close()


async def _publish(client: Client, subject: str, body: bytes, headers: dict[str, str],
                   timeout: float) -> bool:
    js = client.jetstream(timeout=timeout)
    if await _captured(js, subject):
        await js.publish(subject, body, headers=headers, timeout=timeout)
        return True
    await client.publish(subject, body, headers=headers)
    await client.flush(timeout=math.ceil(timeout))
    return False


async def _captured(js: nats.js.JetStreamContext, subject: str) -> bool:
    try:
        await js.find_stream_name_by_subject(subject)
    except NotFoundError:
        return False
    except (NoRespondersError, ServiceUnavailableError):
        return False  # JetStream is not enabled on this server or account
    return True


def send_nats(url: str, subject: str, body: bytes, event_id: str, timeout: float) -> Attempt:
    """One attempt from a sync RQ job."""
    started = time.monotonic()
    try:
        asyncio.run(asyncio.wait_for(publish(url, subject, body, event_id, timeout),
                                     timeout * 4))
    except (NatsError, OSError, TimeoutError) as error:
        message = f"NATS failed: {type(error).__name__}: {error}"[:300]
        return Attempt(False, elapsed_ms(started), error=message)
    return Attempt(True, elapsed_ms(started))

