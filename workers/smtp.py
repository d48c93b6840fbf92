"""Send email over SMTP, configured by one URL.

`smtp://user:pass@host:587?starttls=true` (STARTTLS), `smtps://user:pass@host:465`
(implicit TLS), `smtp://host:25` (plain, for local relays and tests).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import parse_qs, unquote, urlsplit


@dataclass(frozen=True)
class SmtpConfig:
    host: str
    port: int
    username: str | None
    password: str | None
    implicit_tls: bool
    starttls: bool
    timeout: float = 15

    @classmethod
    def from_url(cls, url: str) -> SmtpConfig:
        parts = urlsplit(url)
        if parts.scheme not in ("smtp", "smtps"):
            raise ValueError("INLOOP_SMTP_URL must start with smtp:// or smtps://")
        query = parse_qs(parts.query)
        tls = parts.scheme == "smtps"
        return cls(host=parts.hostname or "localhost", port=parts.port or (465 if tls else 25),
                   username=unquote(parts.username) if parts.username else None,
                   password=unquote(parts.password) if parts.password else None,
                   implicit_tls=tls,
                   starttls=query.get("starttls", ["false"])[0].lower() in ("1", "true", "yes"))


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Deliver one message; raises smtplib/OSError errors for the caller's retry policy."""
    context = ssl.create_default_context()
    client: smtplib.SMTP
    if config.implicit_tls:
        client = smtplib.SMTP_SSL(config.host, config.port, timeout=config.timeout,
                                  context=context)
    else:
        client = smtplib.SMTP(config.host, config.port, timeout=config.timeout)
    with client:
        if config.starttls:
            client.starttls(context=context)
        if config.username:
            client.login(config.username, config.password or "")
        client.send_message(message)
