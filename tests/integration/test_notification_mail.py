"""The mail of notifications through a real SMTP server on localhost (aiosmtpd): delivered once, in zh-CN, to the
right person; a server that refuses or is down for a while loses nothing and sends nothing twice."""
import threading
from collections import Counter
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from sqlalchemy import select, update

from app.auth.models import User
from app.extensions import db
from app.notifications.events import notify
from app.notifications.models import Notification
from app.notifications.outbox import _claim, send_due_mail
from tests.integration.smtp import SmtpServer, make_certificate

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)


@pytest.fixture
def smtp(app):
    server = SmtpServer()
    server.start()
    app.config.update(server.settings)
    yield server
    server.stop()


def mail_rows():
    rows = db.session.execute(
        select(Notification.id, Notification.mail_state, Notification.mail_attempts, Notification.mail_next_at,
               Notification.mail_error).order_by(Notification.id)).all()
    db.session.rollback()
    return rows


def test_a_new_ticket_mails_its_assignee_in_chinese_once(api, smtp):
    number = api.new_ticket()["number"]
    assert [r.mail_state for r in mail_rows()] == ["pending"]  # queued in the step's transaction
    assert send_due_mail() == 1
    [(recipients, message)] = smtp.wait_for(1)
    assert recipients == ["engineer1@example.com"] and message["To"] == "engineer1@example.com"
    assert message["From"] == "servicedesk@example.com"
    assert message["Subject"] == f"【客服服务台】新待办：工单 {number} 的“受理工单”。"
    assert f"工单 {number}" in message.get_content()
    assert message["Message-ID"] == f"<notification-{mail_rows()[0].id}@example.com>"
    assert [r.mail_state for r in mail_rows()] == ["sent"]
    assert send_due_mail() == 0
    assert len(smtp.recorder.messages) == 1


def test_a_server_refusing_then_down_then_back_loses_nothing_and_sends_once(app, api, smtp):
    smtp.recorder.refusing = True
    with time_machine.travel(T0, tick=False) as clock:
        numbers = [api.new_ticket()["number"] for _ in range(2)]
        api.complete("engineer1", numbers[0], "accept_ticket", contact_note="已联系客户")  # nothing to mail
        assert send_due_mail() == 0  # 451 for every recipient
        assert smtp.recorder.refused == 2  # a refused recipient is that mail's failure: the next one is tried
        rows = mail_rows()
        assert [(r.mail_state, r.mail_attempts) for r in rows] == [("pending", 1), ("pending", 1)]
        assert "451" in rows[0].mail_error
        assert {r.mail_next_at.replace(tzinfo=timezone.utc) for r in rows} == {T0 + timedelta(minutes=1)}
        clock.shift(30)
        assert send_due_mail() == 0 and smtp.recorder.refused == 2  # not due yet: no try
        smtp.stop()  # now not even listening
        waits = []
        for attempt in (2, 3, 4):
            clock.shift(rows[0].mail_next_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc))
            assert send_due_mail() == 0
            rows = mail_rows()
            assert [r.mail_attempts for r in rows] == [attempt, attempt]
            assert "Connection refused" in rows[0].mail_error or "ConnectionRefused" in rows[0].mail_error
            waits.append(rows[0].mail_next_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc))
        assert waits == [timedelta(minutes=2), timedelta(minutes=4), timedelta(minutes=8)]  # backoff doubles
        smtp.recorder.refusing = False
        smtp.start()  # back after 15 minutes
        clock.shift(waits[-1])
        assert send_due_mail() == 2
        clock.shift(timedelta(hours=2))
        assert send_due_mail() == 0
    messages = smtp.wait_for(2)
    assert len(messages) == 2
    assert sorted(m["Subject"] for _r, m in messages) == sorted(
        f"【客服服务台】新待办：工单 {n} 的“受理工单”。" for n in numbers)
    assert [r.mail_state for r in mail_rows()] == ["sent", "sent"]


def test_backoff_is_capped_and_the_sender_gives_up_keeping_the_error(app, api, smtp):
    app.config.update(MAIL_MAX_ATTEMPTS=4, MAIL_RETRY_CAP_SECONDS=150)
    smtp.recorder.refusing = True
    with time_machine.travel(T0, tick=False) as clock:
        api.new_ticket()
        waits = []
        for _ in range(4):
            assert send_due_mail() == 0
            row = mail_rows()[0]
            if row.mail_state == "pending":
                waits.append(row.mail_next_at.replace(tzinfo=timezone.utc) - datetime.now(timezone.utc))
                clock.shift(waits[-1])
        assert waits == [timedelta(seconds=60), timedelta(seconds=120), timedelta(seconds=150)]
        row = mail_rows()[0]
        assert (row.mail_state, row.mail_attempts) == ("failed", 4) and "451" in row.mail_error
        smtp.recorder.refusing = False
        clock.shift(timedelta(hours=1))
        assert send_due_mail() == 0
    assert smtp.recorder.messages == []


def test_a_user_without_an_address_is_skipped(app, api, smtp):
    db.session.execute(update(User).where(User.username == "engineer1").values(email=None))
    db.session.commit()
    api.new_ticket()
    assert send_due_mail() == 0
    row = mail_rows()[0]
    assert row.mail_state == "skipped" and "no e-mail address" in row.mail_error
    assert smtp.recorder.messages == []


def test_rows_of_a_crashed_sender_are_sent_once_its_lease_is_over(app, api, smtp):
    with time_machine.travel(T0, tick=False) as clock:
        api.new_ticket()
        assert len(_claim("crashed-node:token", 10, timedelta(minutes=5))) == 1  # claimed, then the node died
        assert send_due_mail() == 0  # still leased
        clock.shift(timedelta(minutes=4))
        assert send_due_mail() == 0
        clock.shift(timedelta(minutes=1, seconds=1))
        assert send_due_mail() == 1
    assert len(smtp.wait_for(1)) == 1


def test_mail_is_sent_by_the_schedulers_notification_pass(app, api, smtp):
    from app.notifications.scheduling import notification_pass

    with time_machine.travel(T0, tick=False):
        api.new_ticket()
    with time_machine.travel(T0 + timedelta(minutes=16), tick=False):
        notification_pass(node="test")  # the due reminder is written, then both mails go out
    subjects = sorted(m["Subject"] for _r, m in smtp.wait_for(2))
    assert len(subjects) == 2 and subjects[0].startswith("【客服服务台】即将到期：") and "新待办" in subjects[1]


@pytest.mark.parametrize("tls", ["starttls", "ssl"])
@pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS")  # the test server's implicit TLS
def test_mail_over_tls_with_a_log_in(app, api, tmp_path, tls):
    server = SmtpServer(tls=tls, certificate=make_certificate(tmp_path), login=("desk", "s3cret"))
    server.start()
    try:
        app.config.update(server.settings)
        number = api.new_ticket()["number"]
        assert send_due_mail() == 1, mail_rows()
        [(recipients, message)] = server.wait_for(1)
        assert recipients == ["engineer1@example.com"] and number in message["Subject"]
        app.config.update(SMTP_PASSWORD="wrong", SMTP_TIMEOUT=1)  # a refused log-in is a failed try like any other
        api.new_ticket()
        assert send_due_mail() == 0
        row = mail_rows()[-1]
        assert (row.mail_state, row.mail_attempts) == ("pending", 1) and row.mail_error
    finally:
        server.stop()


def test_a_certificate_the_sender_cannot_trust_is_refused(app, api, tmp_path):
    server = SmtpServer(tls="starttls", certificate=make_certificate(tmp_path))
    server.start()
    try:
        app.config.update({**server.settings, "SMTP_CA_FILE": ""})  # the system's CAs do not know it
        api.new_ticket()
        assert send_due_mail() == 0
        assert "CERTIFICATE_VERIFY_FAILED" in mail_rows()[0].mail_error
        assert server.recorder.messages == []
    finally:
        server.stop()


def test_an_unknown_tls_mode_stops_the_start(app):
    from app.notifications.outbox import MailSettings

    with pytest.raises(ValueError, match="SMTP_TLS"):
        MailSettings.from_config({"SMTP_HOST": "mail.example.com", "SMTP_TLS": "tls1.3"})


# ------------------------------------------------------------------------------------------ PostgreSQL


@pytest.mark.postgres
def test_two_senders_racing_on_postgresql_send_each_mail_once(pg_url, tmp_path):
    from app import create_app
    from app.seed import seed_demo
    from config import TestConfig, normalise_database_url
    from tests.conftest import PASSWORD

    server = SmtpServer()
    server.start()
    settings = dict(SQLALCHEMY_DATABASE_URI=normalise_database_url(pg_url), UPLOAD_DIR=str(tmp_path),
                    **server.settings)
    first = create_app(TestConfig, AUTO_MIGRATE=True, AUTO_DEPLOY=True, **settings)
    second = create_app(TestConfig, **settings)
    try:
        with first.app_context():
            seed_demo(password=PASSWORD)
            users = db.session.execute(select(User.id, User.email).where(User.email.is_not(None))).all()  # not system users
            notify([{"user_id": users[i % len(users)].id, "kind": "survey_result", "ticket_number": f"SR{i:04d}",
                     "detail": {"result": "满意"}} for i in range(60)])
            db.session.commit()
        barrier = threading.Barrier(2)
        sent = {}

        def sender(app, name):
            with app.app_context():
                barrier.wait()
                total = 0
                while True:
                    count = send_due_mail(node=name, batch=7)
                    total += count
                    if count == 0 and not db.session.scalar(select(Notification.id).where(
                            Notification.mail_state == "pending").limit(1)):
                        break
                sent[name] = total
                db.session.remove()

        threads = [threading.Thread(target=sender, args=(app, name)) for app, name in ((first, "a"), (second, "b"))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)
        messages = server.wait_for(60)
        ids = Counter(m["Message-ID"] for _r, m in messages)
        assert len(messages) == 60 and set(ids.values()) == {1}
        assert sent["a"] + sent["b"] == 60
        with first.app_context():
            assert set(db.session.scalars(select(Notification.mail_state))) == {"sent"}
            db.session.remove()
    finally:
        server.stop()
        for app in (first, second):
            with app.app_context():
                db.engine.dispose()


@pytest.mark.postgres
def test_three_app_processes_send_each_mail_once_after_the_server_refused(pg_app, pg_url):
    """Every process's scheduler runs the sender: the server refuses at first, then accepts; each mail arrives once."""
    import os
    import subprocess
    import sys
    import time

    from tests.conftest import Api
    from tests.integration.test_postgres import ROOT

    server = SmtpServer()
    server.recorder.refusing = True
    server.start()
    pg_app.config.update(server.settings)
    api = Api(pg_app.test_client())
    numbers = [api.new_ticket()["number"] for _ in range(12)]
    db.session.remove()
    env = {**os.environ, "PYTHONPATH": str(ROOT), "SMTP_HOST": "127.0.0.1", "SMTP_PORT": str(server.port),
           "SMTP_TLS": "none", "MAIL_FROM": "servicedesk@example.com", "MAIL_POLL_SECONDS": "0.3",
           "MAIL_RETRY_BASE_SECONDS": "1", "MAIL_BATCH": "3"}
    nodes = [subprocess.Popen([sys.executable, "-m", "tests.integration.node", pg_url], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(3)]
    try:
        # every node up first (start-up is serialised by a lock): a node stopped before it is ready is no test
        assert [node.stdout.readline().strip() for node in nodes] == ["ready"] * 3
        deadline = time.monotonic() + 60
        while server.recorder.refused < len(numbers) and time.monotonic() < deadline:
            time.sleep(0.1)  # a short poll of the SMTP thread: every mail refused at least once
        server.recorder.refusing = False
        while len(server.recorder.messages) < len(numbers) and time.monotonic() < deadline:
            time.sleep(0.1)
        time.sleep(1.5)  # several more passes of every node: a second sending would show now
    finally:
        for node in nodes:
            node.terminate()
        outputs = [node.communicate(timeout=15) for node in nodes]
        server.stop()
    assert all(node.returncode == 0 for node in nodes), outputs
    assert server.recorder.refused >= len(numbers)
    ids = Counter(m["Message-ID"] for _r, m in server.recorder.messages)
    assert len(ids) == len(numbers) and set(ids.values()) == {1}, ids
    assert sorted(m["Subject"] for _r, m in server.recorder.messages) == sorted(
        f"【客服服务台】新待办：工单 {n} 的“受理工单”。" for n in numbers)
    states = db.session.execute(select(Notification.mail_state, Notification.mail_attempts)).all()
    assert {state for state, _attempts in states} == {"sent"} and min(a for _s, a in states) >= 1


@pytest.mark.postgres
def test_due_reminders_on_postgresql_are_written_once(pg_app):
    from app.notifications.events import remind_due_tasks
    from tests.conftest import Api

    api = Api(pg_app.test_client())
    with time_machine.travel(datetime.now(timezone.utc) - timedelta(minutes=16), tick=False):
        api.new_ticket()
    db.session.remove()
    barrier, written = threading.Barrier(2), []

    def remind():
        with pg_app.app_context():
            barrier.wait()
            written.append(remind_due_tasks())
            db.session.remove()

    threads = [threading.Thread(target=remind) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert sorted(written) == [0, 1]  # both saw the task due; the unique index let one write it
    assert remind_due_tasks() == 0
    kinds = sorted(db.session.scalars(select(Notification.kind)))
    assert kinds == ["assignment", "due"]


from tests.integration.test_postgres import pg_app, pg_url  # noqa: E402,F401  (the throw-away PostgreSQL schema)
