"""Email sink against the real SMTP server fixture."""

from __future__ import annotations

import io
from typing import Any

from aiosmtpd.controller import Controller
from PIL import Image
from pypdf import PdfReader

from api.domain.events import event_id
from api.domain.fields import FileRef
from api.domain.task import TaskCreate, task_ref
from api.runtime import Services
from api.store.deliveries import DeliveryLog, delivery_id
from api.store.files import LocalFileStorage
from tests.ports import free_port
from tests.renderers.conftest import make_task as renderer_task
from tests.servers import Mailbox, SmtpServer
from tests.workers.conftest import ANSWERS, BY, TASK, Drain, make_task
from workers.sinks.email import CUT, MAX_SUMMARY, email_message


def test_smtp_down_then_up_is_retried(services: Services, smtp_server: SmtpServer,
                                      drain: Drain) -> None:
    services.settings.smtp_url = f"smtp://127.0.0.1:{free_port()}"
    ref = make_task(services, [{"type": "email", "to": "ops@example.com"}])
    services.store.complete(ref, ANSWERS, BY)
    log, did = DeliveryLog(services.store), delivery_id(ref, "completed", 0)
    drain(lambda: log.status(did) == "retrying")
    services.settings.smtp_url = smtp_server.url
    drain(lambda: log.status(did) == "delivered")
    [mail] = smtp_server.mailbox.wait_for(1)
    assert mail["Message-ID"] == f"<{event_id(ref, 'completed')}@inloop>"
    assert mail["From"] == services.settings.smtp_from and mail["To"] == "ops@example.com"
    errors = [a["error"] for a in log.get(did)["attempts"]]
    assert errors[0].startswith("SMTP failed") and errors[1] is None


class Greylisting(Mailbox):
    """Answers RCPT with `codes` in turn, then accepts."""

    def __init__(self, *codes: str) -> None:
        super().__init__()
        self.codes = list(codes)

    async def handle_RCPT(self, server: Any, session: Any, envelope: Any, address: str,
                          rcpt_options: list[str]) -> str:
        if self.codes:
            return self.codes.pop(0)
        envelope.rcpt_tos.append(address)
        return "250 OK"


def _refusing_server(*codes: str) -> tuple[Controller, Greylisting, str]:
    handler, port = Greylisting(*codes), free_port()
    controller = Controller(handler, hostname="127.0.0.1", port=port)
    controller.start()
    return controller, handler, f"smtp://127.0.0.1:{port}"


def test_greylisted_recipient_is_retried(services: Services, drain: Drain) -> None:
    services.settings.sink_retry_schedule = [1]
    controller, mailbox, services.settings.smtp_url = _refusing_server(
        "451 4.7.1 Greylisted, try again later")
    try:
        ref = make_task(services, [{"type": "email", "to": "ops@example.com"}])
        services.store.cancel(ref, "not needed")
        log, did = DeliveryLog(services.store), delivery_id(ref, "cancelled", 0)
        drain(lambda: log.status(did) == "delivered")
    finally:
        controller.stop()
    first, second = log.get(did)["attempts"]
    assert first["status_code"] == 451 and not first["final"]
    assert second["status_code"] == 250 and len(mailbox.messages) == 1


def test_permanently_refused_recipient_gives_up(services: Services, drain: Drain) -> None:
    services.settings.sink_retry_schedule = [1]
    controller, mailbox, services.settings.smtp_url = _refusing_server(
        "550 5.1.1 No such user")
    try:
        ref = make_task(services, [{"type": "email", "to": "nobody@example.com"}])
        services.store.cancel(ref, "not needed")
        log, did = DeliveryLog(services.store), delivery_id(ref, "cancelled", 0)
        drain(lambda: log.status(did) == "gave_up")
    finally:
        controller.stop()
    [attempt] = log.get(did)["attempts"]
    assert attempt["status_code"] == 550 and attempt["final"] and mailbox.messages == []


def test_no_smtp_url_is_a_retryable_failure(services: Services, drain: Drain) -> None:
    services.settings.sink_retry_schedule = []
    ref = make_task(services, [{"type": "email", "to": "ops@example.com"}])
    services.store.cancel(ref, None)
    log, did = DeliveryLog(services.store), delivery_id(ref, "cancelled", 0)
    drain(lambda: log.status(did) == "gave_up")
    [attempt] = log.get(did)["attempts"]
    assert attempt["error"] == "INLOOP_SMTP_URL is not set"
    assert attempt["final"] is False  # it gave up for want of retries, not as final


def _signed_task(services: Services) -> str:
    body = TaskCreate.model_validate({
        "title": "Sign the NDA", "sinks": [{"type": "email", "to": "ops@example.com"}],
        "steps": [{"id": "s1", "title": "Sign", "blocks": [{"type": "input", "field": {
            "name": "signature", "label": "Signature", "kind": "signature"}}]}]})
    created, _ = services.store.create(body, org_id="org-1", created_by="m-1",
                                       body_hash="h", secrets=[None], revealed=[None],
                                       **services.tasks.new_link())
    return task_ref("org-1", str(created["task_id"]))


def _png() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (300, 100), "white").save(buffer, "PNG")
    return buffer.getvalue()


def test_emailed_pdf_shows_the_signature(services: Services, smtp_server: SmtpServer,
                                         drain: Drain) -> None:
    services.settings.smtp_url = smtp_server.url
    ref = _signed_task(services)
    data = _png()
    sha = LocalFileStorage(services.settings.files_dir).put(data)
    services.files.claim(ref, sha)
    task_id = services.store.load(ref).task_id
    file_ref = FileRef(name="signature.png", size=len(data), content_type="image/png",
                       sha256=sha, url=f"http://inloop.test/api/v1/tasks/{task_id}/files/signature")
    services.store.complete(ref, {"signature": file_ref.model_dump()}, BY)
    did = delivery_id(ref, "completed", 0)
    drain(lambda: DeliveryLog(services.store).status(did) == "delivered")
    [mail] = smtp_server.mailbox.wait_for(1)
    [pdf] = [part.get_content() for part in mail.iter_attachments()]
    [page] = PdfReader(io.BytesIO(pdf)).pages
    assert len(page.images) == 1


def test_a_huge_answer_set_is_cut_in_the_body_and_the_pdf(
        services: Services, smtp_server: SmtpServer, drain: Drain) -> None:
    """20 answers of 50 000 characters: the body stops at MAX_SUMMARY characters, the PDF
    at its layout budget, each with a note saying where the rest is."""
    services.settings.smtp_url = smtp_server.url
    fields = [{"type": "input", "field": {"name": f"f{i}", "label": f"Part {i}",
                                          "kind": "textarea"}} for i in range(20)]
    body = TaskCreate.model_validate({
        "title": "Long", "sinks": [{"type": "email", "to": "ops@example.com"}],
        "steps": [{"id": "s1", "title": "Write", "blocks": fields}]})
    created, _ = services.store.create(body, org_id="org-1", created_by="m-1",
                                       body_hash="h", secrets=[None], revealed=[None],
                                       **services.tasks.new_link())
    ref = task_ref("org-1", str(created["task_id"]))
    services.store.complete(ref, {f"f{i}": "word " * 10_000 for i in range(20)}, BY)
    drain(lambda: DeliveryLog(services.store).status(
        delivery_id(ref, "completed", 0)) == "delivered")
    [mail] = smtp_server.mailbox.wait_for(1)
    text = mail.get_body(("plain",)).get_content()
    assert len(text) < MAX_SUMMARY + 1_000 and CUT.strip() in text
    assert "Part 0: word word" in text and "Part 19" not in text
    [pdf] = [part.get_content() for part in mail.iter_attachments()]
    assert "This PDF ends here" in PdfReader(io.BytesIO(pdf)).pages[-1].extract_text()


def test_a_title_with_line_breaks_gives_a_one_line_subject() -> None:
    """Found by tests/renderers/test_render_properties.py: a header refuses line breaks,
    so the job failed on every retry."""
    task = renderer_task({**TASK, "title": "Q3\r\nbudget\x85now\u2028please"})
    message = email_message(task, "cancelled", sender="a@example.com", to="b@example.com",
                            event_id="e1")
    assert message["Subject"] == "Cancelled: Q3 budget now please"
