"""A real SMTP server on localhost (aiosmtpd) for the mail tests: records what it accepted, can refuse or be down."""
import socket
import ssl
import subprocess
import time
from email import message_from_bytes, policy

from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult


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


def make_certificate(folder):
    """A self-signed certificate for 127.0.0.1 made with the openssl tool: (certificate file, key file)."""
    cert, key = folder / "smtp-cert.pem", folder / "smtp-key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(key), "-out",
                    str(cert), "-days", "2", "-subj", "/CN=localhost",
                    "-addext", "subjectAltName=DNS:localhost,IP:127.0.0.1"], check=True, capture_output=True)
    return cert, key


class SmtpServer:
    """Start/stop an aiosmtpd server on a fixed free port; `settings` are the app's config for it.

    `tls` is "none", "starttls" (STARTTLS required before anything is accepted) or "ssl" (TLS from the first
    byte), with `certificate` = (certificate file, key file); `login` = (user, password) requires that log-in.
    """

    def __init__(self, *, tls="none", certificate=None, login=None):
        self.port = free_port()
        self.recorder = Recorder()
        self.controller = None
        self.tls, self.certificate, self.login = tls, certificate, login

    @property
    def settings(self):
        user, password = self.login or ("", "")
        return {"SMTP_HOST": "127.0.0.1", "SMTP_PORT": self.port, "SMTP_TLS": self.tls, "SMTP_USER": user,
                "SMTP_PASSWORD": password, "SMTP_CA_FILE": str(self.certificate[0]) if self.certificate else "",
                "MAIL_FROM": "servicedesk@example.com", "SMTP_TIMEOUT": 5}

    def start(self):
        options = {}
        if self.tls != "none":
            context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
            context.load_cert_chain(*map(str, self.certificate))
            options = {"ssl_context": context} if self.tls == "ssl" else {"tls_context": context,
                                                                          "require_starttls": True}
        if self.login:
            options.update(authenticator=self._authenticate, auth_required=True)
            if self.tls == "ssl":  # aiosmtpd does not see that an implicit-TLS connection is encrypted
                options["auth_require_tls"] = False
        self.controller = Controller(self.recorder, hostname="127.0.0.1", port=self.port, **options)
        self.controller.start()

    def _authenticate(self, server, session, envelope, mechanism, auth_data):
        known = (auth_data.login.decode(), auth_data.password.decode()) == self.login
        return AuthResult(success=known)

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
