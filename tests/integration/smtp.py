"""A real SMTP server on localhost (aiosmtpd) for the mail tests: records what it accepted, can refuse or be down."""
import socket
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller


def free_port():
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Recorder:
    """The aiosmtpd handler: answers 451 to every recipient while `refusing`, else keeps each message."""

    def __init__(self):
        self.refusing = False
        self.messages = []  # (envelope recipients, parsed message)
        self.refused = 0

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):
        if self.refusing:
            self.refused += 1
            return "451 4.3.0 Mailbox temporarily unavailable, try again later"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), message_from_bytes(envelope.content, policy=policy.default)))
        return "250 Message accepted for delivery"


class SmtpServer:
    """Start/stop an aiosmtpd server on a fixed free port; `settings` are the app's config for it."""

    def __init__(self):
        self.port = free_port()
        self.recorder = Recorder()
        self.controller = None

    @property
    def settings(self):
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_TLS": "none", "SMTP_USER": "",
                "MAIL_FROM": "servicedesk@example.com", "SMTP_TIMEOUT": 5}

    def start(self):
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self):
        if self.controller is not None:
            self.controller.stop()
            self.controller = None

    def wait_for(self, count, timeout=5.0):
        """Poll (briefly) until the server's thread has recorded `count` messages; return them."""
        deadline = time.monotonic() + timeout
        while len(self.recorder.messages) < count and time.monotonic() < deadline:
            time.sleep(0.02)
        return self.recorder.messages
