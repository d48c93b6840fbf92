from email.message import EmailMessage

from tests.servers import SmtpServer
from workers.smtp import SmtpConfig, send


def test_smtp_sender_reaches_a_real_server(smtp_server: SmtpServer) -> None:
    message = EmailMessage()
    message["From"], message["To"], message["Subject"] = "a@x.test", "b@x.test", "Hi Zoë"
    message.set_content("body ✓")
    send(SmtpConfig.from_url(smtp_server.url), message)
    got = smtp_server.mailbox.wait_for(1)[0]
    assert got["Subject"] == "Hi Zoë" and got.get_content().strip() == "body ✓"
