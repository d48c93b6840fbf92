"""SMTP credentials over real connections: STARTTLS with a self-signed certificate, a
plaintext server that must never see the password, and URL errors that never quote it."""

from __future__ import annotations

import datetime
import ipaddress
import smtplib
import ssl
import traceback
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from api.domain.errors import SmtpUrlError
from api.runtime import Services
from api.store.deliveries import DeliveryLog, delivery_id
from tests.ports import free_port
from tests.servers import Mailbox
from tests.workers.conftest import Drain, make_task
from workers.smtp import INVALID_URL, SmtpConfig, send


@dataclass
class AuthServer:
    url: str
    mailbox: Mailbox
    logins: list[tuple[bytes, bytes, bool]] = field(default_factory=list)  # user, pw, tls

    def authenticate(self, _server: Any, session: Any, _envelope: Any, _mechanism: str,
                     data: Any) -> AuthResult:
        assert isinstance(data, LoginPassword)
        self.logins.append((data.login, data.password, session.ssl is not None))
        return AuthResult(success=data.password == b"pa/ss#1")


def _certificate(directory: Path) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1, and its key."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(minutes=5))
            .not_valid_after(now + datetime.timedelta(hours=1))
            .add_extension(x509.SubjectAlternativeName(
                [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]), critical=False)
            .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM,
                                           serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    return cert_path, key_path


def _serve(tls: ssl.SSLContext | None) -> Iterator[AuthServer]:
    port = free_port()
    server = AuthServer(f"smtp://user:pa%2Fss%231@127.0.0.1:{port}", Mailbox())
    with warnings.catch_warnings():  # AUTH without TLS is the point of the plaintext server
        warnings.simplefilter("ignore")
        controller = Controller(server.mailbox, hostname="127.0.0.1", port=port,
                                authenticator=server.authenticate, tls_context=tls,
                                auth_require_tls=tls is not None)
        controller.start()
    yield server
    controller.stop()


@pytest.fixture
def plaintext_auth_server() -> Iterator[AuthServer]:
    """An SMTP server offering AUTH over plaintext, and no STARTTLS."""
    yield from _serve(None)


@pytest.fixture
def starttls_auth_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch
                         ) -> Iterator[AuthServer]:
    """An SMTP server offering AUTH only after STARTTLS; clients trust its certificate."""
    cert, key = _certificate(tmp_path)
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert, key)
    monkeypatch.setenv("SSL_CERT_FILE", str(cert))  # read by ssl.create_default_context()
    yield from _serve(context)


def _message() -> EmailMessage:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@example.com", "b@example.com", "Hi"
    message.set_content("hello")
    return message


def test_credentials_are_sent_only_after_starttls(starttls_auth_server: AuthServer) -> None:
    send(SmtpConfig.from_url(starttls_auth_server.url), _message())  # STARTTLS by default
    assert starttls_auth_server.logins == [(b"user", b"pa/ss#1", True)]
    assert len(starttls_auth_server.mailbox.wait_for(1)) == 1


def test_credentials_are_never_sent_over_plaintext(plaintext_auth_server: AuthServer) -> None:
    with pytest.raises(smtplib.SMTPNotSupportedError):
        send(SmtpConfig.from_url(plaintext_auth_server.url), _message())
    assert plaintext_auth_server.logins == [] and plaintext_auth_server.mailbox.messages == []


def test_tls_none_opts_in_to_plaintext_credentials(plaintext_auth_server: AuthServer) -> None:
    send(SmtpConfig.from_url(plaintext_auth_server.url + "?tls=none"), _message())
    assert plaintext_auth_server.logins == [(b"user", b"pa/ss#1", False)]


@pytest.mark.parametrize("url", [
    "smtp://user:s3cr/et1@mail.example.com:587",  # the password's tail parses as a path
    "smtp://user:s3cr#et1@mail.example.com:587",  # ... or as a fragment
    "smtp://user:s3cr?et1@mail.example.com:587",  # ... or its head as a port
    "smtp://user:s3cret1@mail.example.com:587?tls=s3cret1",
    "http://user:s3cret1@mail.example.com",
])
def test_unusable_url_errors_never_quote_the_password(url: str) -> None:
    with pytest.raises(SmtpUrlError) as raised:
        SmtpConfig.from_url(url)
    logged = "".join(traceback.format_exception(raised.value))  # chained errors included
    assert "s3cr" not in logged and "et1" not in logged


def test_legacy_starttls_false_with_credentials_says_to_use_tls_none() -> None:
    with pytest.raises(SmtpUrlError, match=r"\?tls=none"):
        SmtpConfig.from_url("smtp://user:pw@relay.example:25?starttls=false")
    assert not SmtpConfig.from_url("smtp://relay.example:25?starttls=false").starttls


def test_unusable_url_is_recorded_without_the_password(services: Services,
                                                       drain: Drain) -> None:
    services.settings.smtp_url = "smtp://user:s3cr/et1@mail.example.com:587"
    services.settings.sink_retry_schedule = []
    ref = make_task(services, [{"type": "email", "to": "ops@example.com"}])
    services.store.cancel(ref, None)
    log, did = DeliveryLog(services.store), delivery_id(ref, "cancelled", 0)
    drain(lambda: log.status(did) == "gave_up")
    assert log.get(did)["attempts"][0]["error"] == INVALID_URL
