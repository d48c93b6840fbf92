"""File and signature uploads through the API and the web form: whole bodies, limits,
checked images, a cap on files per task."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import io
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

from aiohttp.test_utils import TestClient
from pypdf import PdfReader

from api.domain.task import CompletedBy
from api.domain.uploads import PNG_MAGIC
from api.runtime import Services
from api.store import keys
from tests.conftest import Account, create
from tests.fixtures import example
from tests.images import huge_png, png
from tests.servers import SmtpServer
from tests.web.helpers import csrf_from, dashboard_sign_in, post_form


async def onboarding(client: TestClient, account: Account) -> dict[str, Any]:
    return await create(client, account, example("hpi_onboarding"))


def stored(services: Services, sha256: str) -> bytes:
    return (services.settings.files_dir / sha256[:2] / sha256).read_bytes()


async def chunked(data: bytes, size: int = 64 * 1024) -> AsyncIterator[bytes]:
    for start in range(0, len(data), size):
        yield data[start:start + size]


async def upload(client: TestClient, account: Account, task: dict[str, Any], field: str,
                 data: Any, content_type: str = "application/pdf") -> Any:
    return await client.post(f"/api/v1/tasks/{task['task_id']}/files/{field}?filename=f",
                             data=data, headers={**account.headers,
                                                 "Content-Type": content_type})


async def test_api_upload_stores_the_whole_body(client: TestClient, account: Account,
                                                services: Services) -> None:
    task = await onboarding(client, account)
    whole, streamed = os.urandom(3 * 1024 * 1024), os.urandom(2 * 1024 * 1024)
    for body, expected in ((io.BytesIO(whole), whole), (chunked(streamed), streamed)):
        response = await upload(client, account, task, "contract", body)
        assert response.status == 201, await response.text()
        ref = await response.json()
        assert ref["size"] == len(expected)
        assert ref["sha256"] == hashlib.sha256(expected).hexdigest()
        assert stored(services, ref["sha256"]) == expected


async def test_api_upload_over_the_limit_is_413(client: TestClient, account: Account,
                                                services: Services) -> None:
    services.settings.max_upload_bytes = 256 * 1024
    task = await onboarding(client, account)
    for body in (io.BytesIO(b"x" * (300 * 1024)), chunked(b"y" * (1024 * 1024), 16 * 1024)):
        response = await upload(client, account, task, "contract", body)
        assert response.status == 413
        assert (await response.json())["error"] == "payload_too_large"
    assert not services.settings.files_dir.exists()
    exact = await upload(client, account, task, "contract", io.BytesIO(b"z" * (256 * 1024)))
    assert exact.status == 201


async def test_api_signature_must_be_a_sane_png(client: TestClient, account: Account,
                                                services: Services) -> None:
    task = await onboarding(client, account)
    for bad, reason in ((huge_png(), "larger than 4000x2000 pixels"),
                        (PNG_MAGIC + b"\0" * 64, "could not be read"),
                        (b"GIF89a", "must be a PNG image")):
        response = await upload(client, account, task, "signature", bad, "image/png")
        assert response.status == 400
        assert reason in (await response.json())["details"][0]["msg"]
    assert not services.settings.files_dir.exists()
    signature = png()
    response = await upload(client, account, task, "signature", signature + b"<script>",
                            "image/png")
    ref = await response.json()
    assert response.status == 201 and ref["sha256"] == hashlib.sha256(signature).hexdigest()
    assert stored(services, ref["sha256"]) == signature  # re-encoded: the tail is gone


async def test_form_signature_over_the_pixel_cap_is_a_field_error(
        client: TestClient, account: Account, services: Services) -> None:
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=3"
    token = await csrf_from(client, path)
    bomb = "data:image/png;base64," + base64.b64encode(huge_png()).decode()
    response = await post_form(client, path, {"csrf_token": token, "nav": "submit",
                                              "approved": "on", "signature": bomb})
    assert response.status == 400
    assert "larger than 4000x2000 pixels" in await response.text()
    assert services.store.load(account.ref(task["task_id"])).status == "pending"
    assert not services.settings.files_dir.exists()


async def test_dashboard_pdf_survives_a_hostile_stored_signature(
        client: TestClient, account: Account, services: Services, app: Any,
        smtp_server: SmtpServer, run_jobs: Callable[..., int]) -> None:
    """A bomb stored before signatures were checked costs the image, not the PDF."""
    task = await onboarding(client, account)
    digest = services.file_answers.storage.put(huge_png())
    services.files.claim(account.ref(task["task_id"]), digest)
    ref = {"name": "signature.png", "size": 27_000, "content_type": "image/png",
           "sha256": digest, "url": "http://x/signature"}
    by = CompletedBy(channel="api", id=account.member.id, name="A")
    services.store.complete(account.ref(task["task_id"]), {"full_name": "A", "signature": ref}, by)
    await dashboard_sign_in(client, account, smtp_server, run_jobs)
    response = await client.get(f"/dashboard/tasks/{task['task_id']}/pdf")
    assert response.status == 200
    text = "".join(p.extract_text() for p in PdfReader(io.BytesIO(await response.read())).pages)
    assert "the signature image could not be shown" in text


def files_on_disk(services: Services) -> int:
    root = services.settings.files_dir
    return sum(1 for p in root.glob("*/*") if p.is_file()) if root.exists() else 0


async def test_a_task_holds_at_most_50_files(client: TestClient, account: Account,
                                             services: Services) -> None:
    task = await onboarding(client, account)
    for n in range(49):  # as if uploaded before
        assert services.files.claim(account.ref(task["task_id"]), f"{n:064x}")
    last = await upload(client, account, task, "contract", b"file 50")
    assert last.status == 201
    again = await upload(client, account, task, "contract", b"file 50")  # already held
    assert again.status == 201
    over = await upload(client, account, task, "contract", b"file 51")
    assert over.status == 400
    detail = (await over.json())["details"][0]
    assert detail["type"] == "too_many_files" and "50 uploaded files" in detail["msg"]
    assert files_on_disk(services) == 1  # the refused file never reached the disk

    path = f"/t/{task['link_id']}?step=2"
    token = await csrf_from(client, path)
    form = await post_form(client, path, {"csrf_token": token, "nav": "next"},
                           {"contract": ("c.pdf", b"file 52", "application/pdf")})
    assert form.status == 400 and "50 uploaded files" in await form.text()
    assert files_on_disk(services) == 1
    assert services.redis.scard(keys.task_files(account.ref(task["task_id"]))) == 50


async def endless_part(head: bytes, boundary: str, most: int = 64 * 1024 * 1024
                       ) -> AsyncIterator[bytes]:
    """A chunked multipart body whose last part never ends (well: after `most` bytes)."""
    yield head
    block, sent = b"x" * (256 * 1024), 0
    while sent < most:
        sent += len(block)
        yield block
    yield f"\r\n--{boundary}--\r\n".encode()


async def test_an_endless_part_of_a_chunked_form_post_is_413(
        client: TestClient, account: Account, services: Services) -> None:
    services.settings.max_upload_bytes = 64 * 1024  # the body may hold 2 x 64 KiB + 1 MiB
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=2"
    token = await csrf_from(client, path)
    boundary = "endless-boundary"
    start = (f'--{boundary}\r\nContent-Disposition: form-data; name="csrf_token"\r\n\r\n'
             f"{token}\r\n--{boundary}\r\nContent-Disposition: form-data; ")
    for disposition in ('name="contract"; filename="big.pdf"', 'filename="nameless.bin"'):
        head = f"{start}{disposition}\r\n\r\n".encode()
        response = await client.post(path, data=endless_part(head, boundary), headers={
            "Content-Type": f"multipart/form-data; boundary={boundary}"})
        assert response.status == 413, (disposition, response.status)
        assert "Too large" in await response.text()
    assert services.drafts.load(account.ref(task["task_id"])) == {}
    assert not services.settings.files_dir.exists()


def multipart(boundary: str, parts: list[tuple[str, str | None, bytes]]) -> bytes:
    """A multipart/form-data body of (name, filename or None, data) parts, in order."""
    body = b""
    for name, filename, data in parts:
        file = f'; filename="{filename}"' if filename is not None else ""
        body += (f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"{file}\r\n'
                 f"\r\n").encode() + data + b"\r\n"
    return body + f"--{boundary}--\r\n".encode()


async def held_back(head: bytes, rest: bytes, release: asyncio.Event) -> AsyncIterator[bytes]:
    """A chunked body that sends `head`, then waits for `release` before the rest."""
    yield head
    await release.wait()
    yield rest


def incoming_files(services: Services) -> list[Path]:
    incoming = services.settings.incoming_dir
    return list(incoming.iterdir()) if incoming.exists() else []


async def test_a_form_post_without_its_csrf_token_first_is_refused_unread(
        client: TestClient, account: Account, services: Services) -> None:
    """The answer comes while the client still holds back most of the file (the server
    reads a little past the first part, no more): nothing is waited for or written."""
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=2"
    token = await csrf_from(client, path)
    boundary = "held-back"
    upload = ("contract", "big.pdf", b"%PDF" + b"x" * (4 * 1024 * 1024))
    for first in (("csrf_token", None, b"x" * 43), upload, ("nav", None, b"next")):
        body = multipart(boundary, [first, upload, ("csrf_token", None, token.encode())])
        release = asyncio.Event()
        head = body[:body.index(b"%PDF") + 128 * 1024]  # ends far into the file
        sending = client.post(path, data=held_back(head, body[len(head):], release),
                              headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        response = await asyncio.wait_for(sending, timeout=10)  # no deadlock: not read
        release.set()
        assert response.status == 403 and "Please try again" in await response.text()
        assert incoming_files(services) == []
    assert services.drafts.load(account.ref(task["task_id"])) == {}
    assert not services.settings.files_dir.exists()


async def test_a_form_post_over_the_request_total_is_413(
        client: TestClient, account: Account, services: Services) -> None:
    services.settings.max_request_upload_bytes = 256 * 1024  # files may be 10 MiB each
    task = await onboarding(client, account)
    path = f"/t/{task['link_id']}?step=2"
    token = await csrf_from(client, path)
    boundary = "over-the-total"
    headers = {"Content-Type": f"multipart/form-data; boundary={boundary}"}
    csrf = ("csrf_token", None, token.encode())
    many = [(f"part{n}", f"f{n}.bin", os.urandom(20 * 1024)) for n in range(25)]
    over = multipart(boundary, [csrf, ("contract", "c.pdf", b"x" * 300 * 1024)])
    for body in (over, multipart(boundary, [csrf, *many])):
        for sent in (body, chunked(body)):  # with a Content-Length, and chunked
            response = await client.post(path, data=sent, headers=headers)
            assert response.status == 413 and "Too large" in await response.text()
    assert incoming_files(services) == [] and not services.settings.files_dir.exists()
    pdf = b"%PDF" + os.urandom(200 * 1024)
    fits = multipart(boundary, [csrf, ("contract", "c.pdf", pdf), ("nav", None, b"next")])
    response = await client.post(path, data=fits, headers=headers, allow_redirects=False)
    assert response.status == 303
    ref = services.drafts.load(account.ref(task["task_id"]))["contract"]
    assert ref["size"] == len(pdf) and stored(services, ref["sha256"]) == pdf
    assert incoming_files(services) == []  # moved into the store, nothing left behind
