"""Send email over SMTP, configured by one URL.

`smtps://user:pass@host:465` (implicit TLS), `smtp://user:pass@host:587` (STARTTLS, the
default whenever the URL has credentials), `smtp://host:25` (plain, for local relays and
tests; `?tls=starttls` upgrades it). Credentials never cross a plaintext connection: a
server without STARTTLS fails the attempt before the password is sent, unless the URL opts
out with `?tls=none`. Reserved characters in the user or password must be percent-encoded
(`/` as `%2F`, `#` as `%23`, `@` as `%40`, `:` as `%3A`, `%` as `%25`).
"""

from __future__ import annotations

import smtplib
import ssl
from dataclasses import dataclass
from email.message import EmailMessage
from urllib.parse import SplitResult, parse_qs, unquote, urlsplit

from api.domain.errors import SmtpUrlError

TRUE = ("1", "true", "yes")
INVALID_URL = ("INLOOP_SMTP_URL is invalid: use smtp:// or smtps://, user and password "
               "percent-encoded (/ as %2F, # as %23, @ as %40), a host and a port")


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
        """The URL's settings; raises SmtpUrlError (fixed texts only) if it is unusable."""
        try:
            return cls._parse(urlsplit(url))
        except SmtpUrlError:
            raise
        except ValueError:  # urllib's text quotes the URL (say, a password's tail as port)
            raise SmtpUrlError(INVALID_URL) from None

    @classmethod
    def _parse(cls, parts: SplitResult) -> SmtpConfig:
        if parts.scheme not in ("smtp", "smtps") or not parts.hostname:
            raise SmtpUrlError(INVALID_URL)
        if parts.fragment or parts.path.strip("/"):  # an unencoded / or # cut the password
            raise SmtpUrlError(INVALID_URL)
        implicit = parts.scheme == "smtps"
        username = unquote(parts.username) if parts.username else None
        return cls(host=parts.hostname, port=parts.port or (465 if implicit else 25),
                   username=username,
                   password=unquote(parts.password) if parts.password else None,
                   implicit_tls=implicit,
                   starttls=not implicit and _starttls(parts.query, username is not None))


def _starttls(query: str, credentials: bool) -> bool:
    """`?tls=starttls|none`; without it STARTTLS when there are credentials to protect
    (or with the older `?starttls=true`)."""
    params = parse_qs(query)
    tls = params.get("tls", [""])[0].lower()
    if tls not in ("", "starttls", "none"):
        raise SmtpUrlError("INLOOP_SMTP_URL: tls must be starttls or none")
    if tls:
        return tls == "starttls"
    legacy = params.get("starttls", [""])[0].lower()
    if credentials and legacy and legacy not in TRUE:
        raise SmtpUrlError("INLOOP_SMTP_URL: credentials are sent over TLS only; for a "
                           "trusted plaintext relay say ?tls=none instead of ?starttls=false")
    return credentials or legacy in TRUE


def send(config: SmtpConfig, message: EmailMessage) -> None:
    """Deliver one message; raises smtplib/OSError errors for the caller's retry policy.
    With STARTTLS, a server that does not offer it raises SMTPNotSupportedError before
    any credentials are sent."""
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
