"""The satisfaction survey: the `satisfaction_survey` diagram sends it five minutes after the close (mail to the
customer through a real SMTP server, link on the ticket); the public page answers it once; misuse of the link
(reuse, expired, forged, another ticket's) is refused; a supervisor can send it by hand with a reason; a
different questionnaire is a form change only."""
import json
import re
import shutil
from datetime import datetime, timedelta, timezone
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from app.database import deploy_workflows
from app.extensions import db
from app.notifications.models import Notification
from app.notifications.outbox import send_due_mail
from app.surveys.links import token_of
from app.surveys.models import Survey, SurveyScore
from app.tickets.models import Ticket, TicketEvent
from app.timers.service import fire_due_timers
from tests.conftest import Api
from tests.integration.smtp import SmtpServer
from tests.integration.test_flow import accept_and_solve
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401  (fixtures)

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)
ROOT = Path(__file__).resolve().parents[2]
ANSWERS = {"attitude": "5", "response_speed": "4", "resolution": "4", "overall": "5", "comment": "处理及时，态度很好"}


@pytest.fixture
def smtp(app):
    server = SmtpServer()
    server.start()
    app.config.update(server.settings, PUBLIC_URL="https://desk.example.com")
    yield server
    server.stop()


def close_ticket(api):
    number = api.new_ticket()["number"]
    accept_and_solve(api, number)
    ticket = api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
    assert ticket["status"] == "closed" and ticket["open_tasks"] == []
    return number


def survey_rows(number):
    rows = db.session.execute(select(Survey).join(Ticket, Ticket.id == Survey.ticket_id)
                              .where(Ticket.number == number).order_by(Survey.id)).scalars().all()
    return rows


def link_of(survey):
    return f"/survey/{token_of(survey.nonce)}"


def history_actions(number):
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == number))
    return [e.action for e in db.session.scalars(select(TicketEvent).where(TicketEvent.ticket_id == ticket.id))]


def sent_survey(api, clock):
    """A closed ticket whose survey the diagram sent: (number, survey row)."""
    number = close_ticket(api)
    clock.shift(timedelta(minutes=5, seconds=1))
    assert fire_due_timers() == 1
    [survey] = survey_rows(number)
    return number, survey


def test_five_minutes_after_the_close_the_diagram_mails_the_survey_to_the_customer(app, api, client, smtp):
    with time_machine.travel(T0, tick=False) as clock:
        number = close_ticket(api)
        assert survey_rows(number) == []  # the ticket closed at once; the survey waits in its own process
        clock.shift(timedelta(minutes=4, seconds=59))
        assert fire_due_timers() == 0 and survey_rows(number) == []
        clock.shift(timedelta(seconds=2))  # SpiffWorkflow fires a timer once the clock is past its due time
        assert fire_due_timers() == 1
        [survey] = survey_rows(number)
        assert survey.status == "sent" and survey.sent_by == "system"
        assert survey.expires_at.replace(tzinfo=timezone.utc) == T0 + timedelta(minutes=5, seconds=1, days=7)
        token = token_of(survey.nonce)
        assert len(token) >= 43 and token not in json.dumps([survey.nonce, survey.token_hash])  # only a hash is kept
        assert db.session.scalar(select(Ticket.survey_status).where(Ticket.number == number)) == "sent"
        assert "survey_sent" in history_actions(number)
        db.session.rollback()

        before = len(smtp.recorder.messages)
        send_due_mail()
        messages = [m for rcpt, m in smtp.recorder.messages[before:] if rcpt == ["zhou@jinggong.example.cn"]]
        assert len(messages) == 1
        body = messages[0].get_content()
        assert f"https://desk.example.com/survey/{token}" in body
        assert messages[0]["Subject"] == f"【客服服务台】请评价我们的服务：工单 {number}"  # zh-CN first
        assert "/tickets/" not in body  # nothing of the staff's side goes to the customer

        ticket = api.get(f"/tickets/{number}/survey", "agent1").get_json()
        assert ticket["items"][0]["status"] == "sent" and ticket["items"][0]["link"] == f"/survey/{token}"
        page = client.get(f"/tickets/{number}", follow_redirects=False)
        assert page.status_code == 302  # the ticket page needs a log-in; the survey page does not
        clock.shift(timedelta(days=8))
        assert fire_due_timers() == 1  # the expiry timer of an answered-or-not survey: nothing more waits
        assert fire_due_timers() == 0


def test_the_public_page_takes_one_answer_and_thanks_the_customer(app, api, client):
    with time_machine.travel(T0, tick=False) as clock:
        number, survey = sent_survey(api, clock)
        link = link_of(survey)
        page = client.get(link)
        assert page.status_code == 200
        text = page.get_data(as_text=True)
        assert number in text and "服务态度" in text and "响应速度" in text and "问题解决" in text and "总体评价" in text
        for private in ("周经理", "13800138000", "zhou@jinggong.example.cn", "上海精工", "生产线设备"):
            assert private not in text  # nothing about the customer or the problem

        english = client.get(f"{link}?lang=en").get_data(as_text=True)
        assert "Attitude" in english and "Response speed" in english and "Very satisfied" in english

        wrong = client.post(link, data={**ANSWERS, "overall": "", "comment": "字" * 201})
        assert wrong.status_code == 422
        text = wrong.get_data(as_text=True)
        assert 'value="5" checked' in text  # what was chosen is shown again
        assert "200" in text  # the comment's limit is named

        done = client.post(link, data=ANSWERS)
        assert done.status_code == 200 and 'id="survey-thanks"' in done.get_data(as_text=True)
        db.session.expire_all()
        [survey] = survey_rows(number)
        assert survey.status == "completed" and survey.comment == "处理及时，态度很好"
        assert survey.answers == {"attitude": 5, "response_speed": 4, "resolution": 4, "overall": 5,
                                  "comment": "处理及时，态度很好"}
        assert db.session.scalar(select(Ticket.survey_status).where(Ticket.number == number)) == "completed"
        assert "survey_completed" in history_actions(number)
        scores = db.session.execute(select(SurveyScore.dimension, SurveyScore.value)
                                    .where(SurveyScore.survey_id == survey.id)).all()
        assert sorted(scores) == [("attitude", "5"), ("overall", "5"), ("resolution", "4"), ("response_speed", "4")]
        kinds = db.session.execute(select(Notification.kind, Notification.user_id)
                                   .where(Notification.kind == "survey_result")).all()
        assert len(kinds) >= 2  # the department's supervisors and the handler
        db.session.rollback()

        again = client.post(link, data=ANSWERS)  # reuse: refused politely
        assert again.status_code == 409 and 'id="survey-already"' in again.get_data(as_text=True)
        assert client.get(link).status_code == 200 and 'id="survey-already"' in client.get(link).get_data(as_text=True)
        staff = api.get(f"/tickets/{number}/survey", "agent1").get_json()["items"][0]
        assert staff["status"] == "completed" and staff["link"] is None and staff["answers"]["overall"] == 5


def test_an_expired_link_gets_a_polite_page_and_the_diagram_marks_it(app, api, client):
    with time_machine.travel(T0, tick=False) as clock:
        number, survey = sent_survey(api, clock)
        link = link_of(survey)
        clock.shift(timedelta(days=7))
        page = client.get(link)
        assert page.status_code == 200 and 'id="survey-expired"' in page.get_data(as_text=True)
        refused = client.post(link, data=ANSWERS)
        assert refused.status_code == 409 and 'id="survey-expired"' in refused.get_data(as_text=True)
        clock.shift(timedelta(seconds=1))
        assert fire_due_timers() == 1  # the diagram's expiry timer
        db.session.expire_all()
        assert survey_rows(number)[0].status == "expired"
        assert db.session.scalar(select(Ticket.survey_status).where(Ticket.number == number)) == "expired"
        assert "survey_expired" in history_actions(number)


def test_forged_and_other_tickets_tokens(app, api, client):
    with time_machine.travel(T0, tick=False) as clock:
        first, survey_a = sent_survey(api, clock)
        second, survey_b = sent_survey(api, clock)
        link_a, link_b = link_of(survey_a), link_of(survey_b)
        token_a = link_a.rpartition("/")[2]
        for forged in (token_a[:-1] + ("A" if token_a[-1] != "A" else "B"), "x" * 43, "short",
                       token_of("0" * 64), token_a.upper()):
            response = client.get(f"/survey/{forged}")
            assert response.status_code == 404, forged
            assert client.post(f"/survey/{forged}", data=ANSWERS).status_code == 404
        # a token opens its own ticket's survey only: answering with A's token completes A, never B
        page_b = client.get(link_b).get_data(as_text=True)
        assert second in page_b and first not in page_b
        assert client.post(link_a, data=ANSWERS).status_code == 200
        db.session.expire_all()
        assert survey_rows(first)[0].status == "completed" and survey_rows(second)[0].status == "sent"
        assert client.post(link_a, data=ANSWERS).status_code == 409
        assert client.post(link_b, data=ANSWERS).status_code == 200


def test_a_supervisor_sends_the_survey_by_hand_with_a_reason(app, api, client):
    with time_machine.travel(T0, tick=False) as clock:
        number = close_ticket(api)
        assert api.post(f"/tickets/{number}/survey", "agent1", json={"reason": "客户要求"}).status_code == 403
        blank = api.post(f"/tickets/{number}/survey", "supervisor1", json={"reason": "   "})
        assert blank.status_code == 422 and "reason" in blank.get_json()["errors"]
        assert api.post(f"/tickets/{number}/survey", "supervisor1", json={}).status_code == 422
        sent = api.post(f"/tickets/{number}/survey", "supervisor1", json={"reason": "客户电话中要求重新发送"})
        assert sent.status_code == 201
        [item] = sent.get_json()["items"]
        assert item["sent_by"] == "supervisor1" and item["reason"] == "客户电话中要求重新发送"

        clock.shift(timedelta(minutes=5, seconds=1))
        fire_due_timers()  # the diagram finds the survey already out: no second one
        assert len(survey_rows(number)) == 1

        again = api.post(f"/tickets/{number}/survey", "supervisor1", json={"reason": "客户未收到邮件"})
        assert again.status_code == 201
        old, new = survey_rows(number)
        assert old.status == "revoked" and new.status == "sent"
        replaced = client.get(link_of(old))
        assert 'id="survey-replaced"' in replaced.get_data(as_text=True)
        assert client.post(link_of(old), data=ANSWERS).status_code == 409
        assert client.post(link_of(new), data=ANSWERS).status_code == 200
        answered = api.post(f"/tickets/{number}/survey", "supervisor1", json={"reason": "再发一次"})
        assert answered.status_code == 409

        open_ticket = api.new_ticket()["number"]
        assert api.post(f"/tickets/{open_ticket}/survey", "supervisor1", json={"reason": "试试"}).status_code == 409


def test_the_ticket_page_shows_the_survey_and_the_send_form(app, api, client):
    with time_machine.travel(T0, tick=False) as clock:
        number, survey = sent_survey(api, clock)
        client.post("/login", data={"username": "supervisor1", "password": "pw-demo-123"})
        page = client.get(f"/tickets/{number}").get_data(as_text=True)
        assert token_of(survey.nonce) in page and "ticket_survey_send" not in page
        assert f'action="/tickets/{number}/survey"' in page
        blank = client.post(f"/tickets/{number}/survey", data={"reason": "  "})
        assert blank.status_code == 422 and 'id="survey-reason"' in blank.get_data(as_text=True)
        sent = client.post(f"/tickets/{number}/survey", data={"reason": "客户要求"}, follow_redirects=True)
        assert sent.status_code == 200 and "客户要求" in sent.get_data(as_text=True)
        client.post(link_of(survey_rows(number)[-1]), data=ANSWERS)
        page = client.get(f"/tickets/{number}").get_data(as_text=True)
        assert "处理及时，态度很好" in page and f'action="/tickets/{number}/survey"' not in page


def test_a_four_level_questionnaire_with_more_dimensions_is_a_form_change_only(app, api, client, tmp_path):
    """Seed 003's variant: excellent / good / fair / poor on response speed, problem solving, attitude, process
    clarity and result, plus suggestions; only forms/survey.json changes."""
    forms = tmp_path / "forms"
    shutil.copytree(ROOT / "forms", forms)
    levels = [{"const": c, "title": t} for c, t in
              (("excellent", "优秀"), ("good", "良好"), ("fair", "一般"), ("poor", "较差"))]
    dimensions = {"response_speed": "响应速度", "problem_solving": "问题解决", "attitude": "服务态度",
                  "process_clarity": "流程清晰度", "result": "处理结果"}
    variant = {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": "服务评价", "type": "object",
               "required": list(dimensions),
               "properties": {**{k: {"type": "string", "title": t, "oneOf": levels} for k, t in dimensions.items()},
                              "suggestions": {"type": "string", "maxLength": 200, "title": "建议",
                                              "x-widget": "textarea"}}}
    (forms / "survey.json").write_text(json.dumps(variant, ensure_ascii=False), encoding="utf-8")
    app.config["FORMS_DIR"] = str(forms)
    created = deploy_workflows()
    db.session.commit()
    assert [d.name for d, new in created if new] == ["satisfaction_survey"]  # the diagrams are unchanged
    with time_machine.travel(T0, tick=False) as clock:
        number, survey = sent_survey(api, clock)
        page = client.get(link_of(survey)).get_data(as_text=True)
        assert "流程清晰度" in page and "优秀" in page and "较差" in page
        answers = {k: "good" for k in dimensions} | {"suggestions": "希望流程更透明"}
        assert client.post(link_of(survey), data={**answers, "result": "great"}).status_code == 422
        assert client.post(link_of(survey), data=answers).status_code == 200
        db.session.expire_all()
        assert survey_rows(number)[0].answers == answers
        scores = dict(db.session.execute(select(SurveyScore.dimension, SurveyScore.value)).all())
        assert scores == {k: "good" for k in dimensions}  # the variant's choices count in the reports; text does not
        with app.test_request_context("/"):
            from app.reports import service as reports
            result = reports.report(reports.parse_params({"start": "2026-01-01", "end": "2026-12-31"}))
        by_name = {d["dimension"]: d for d in result["satisfaction"]}
        assert by_name["process_clarity"]["scale"] == ["excellent", "good", "fair", "poor"]
        assert by_name["process_clarity"]["counts"]["good"] == 1 and by_name["process_clarity"]["average"] is None



def test_start_process_refuses_a_process_that_is_not_deployed(app):
    from app.engine import ProcessError
    from app.tickets.flow import engine

    with pytest.raises(ProcessError, match="'no_such_process' is not deployed"):
        engine().start_later("no_such_process", {"ticket_number": "x"})


@pytest.mark.postgres
def test_the_survey_round_on_postgres(pg_app):
    """Sent by the diagram's timer, answered once, a second answer refused: on PostgreSQL."""
    api, client = Api(pg_app.test_client()), pg_app.test_client()
    with time_machine.travel(T0, tick=False) as clock:
        number, survey = sent_survey(api, clock)
        assert client.post(link_of(survey), data={**ANSWERS, "comment": "很好\x00"}).status_code == 200
        assert client.post(link_of(survey), data=ANSWERS).status_code == 409
        db.session.expire_all()
        assert survey_rows(number)[0].answers["overall"] == 5 and survey_rows(number)[0].comment == "很好"
