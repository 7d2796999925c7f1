"""Transfer and collaboration on the after-sales flow (workflows/aftersales.bpmn, R2-3, R3-4, R0-4) through the API,
with the clock moved by time-machine: a transfer to a person or to a department (least-loaded pick) goes to the new
handler's handling task inside the handling subprocess, so the analysis report and the progress cycle survive it;
the previous handler keeps reading and commenting; before acceptance a transfer is refused; two supporting
departments each get a support_task with its deadline while the lead continues; the progress cycles never stack
after a transfer and their task follows the new handler."""
from datetime import timedelta

from sqlalchemy import func, select

from app.auth.models import Department, Role, User
from app.extensions import db
from app.notifications.models import Notification
from app.tasks.models import HumanTask
from app.tickets.models import Ticket
from app.timers.service import fire_due_timers
from tests.conftest import PASSWORD
from tests.integration.test_aftersales import (TUE, accept, at, clock, contact, local, names, new_fault,
                                                report, solve)


def transfer_body(department="product", assignee="product1", **fields):
    body = {"department": department, "assignee": assignee, "reason": "固件问题需产品部排查",
            "expected_at": (TUE + timedelta(days=1)).isoformat()}
    body.update(fields)
    return {k: v for k, v in body.items() if v is not None}


def transfer(api, number, user, **fields):
    response = api.post(f"/tickets/{number}/transfer", user, json=transfer_body(**fields))
    assert response.status_code == 200, response.get_json()
    return response.get_json()


def handled_fault(api, **intake):
    """A P3 hardware fault accepted and contacted by engineer1: its analysis_report task is open."""
    number, _ = new_fault(api, **intake)
    accept(api, number, "engineer1")
    contact(api, number, "engineer1")
    return number


def holders(ticket):
    return sorted((t["name"], t["assignee"]) for t in ticket["open_tasks"])


def notes(user, kind, number):
    user_id = db.session.scalar(select(User.id).where(User.username == user))
    return db.session.scalars(select(Notification).where(
        Notification.kind == kind, Notification.ticket_number == number, Notification.user_id == user_id)).all()


def opened(ticket, task):
    return [h["detail"]["task"] for h in ticket["history"] if h["action"] == "task_opened"].count(task)


def open_tasks_named(number, name):
    return db.session.scalar(select(func.count()).select_from(HumanTask).join(Ticket, Ticket.id == HumanTask.ticket_id)
                             .where(Ticket.number == number, HumanTask.name == name, HumanTask.state == "open"))


# ------------------------------------------------------------------------------------------------ transfer

def test_a_transfer_to_a_person_before_the_report_goes_to_the_receivers_report_task(api):
    with clock(api, TUE):
        number = handled_fault(api)
        ticket = transfer(api, number, "engineer1")
        assert holders(ticket) == [("analysis_report", "product1")]
        assert (ticket["assignee"], ticket["department"], ticket["status"]) == ("product1", "product", "processing")
        assert ticket["owner"] == "engineer1"  # the first receiver stays responsible
        assert "transferred" in [h["action"] for h in ticket["history"]]
        items = api.get(f"/tickets/{number}/transfers", "agent1").get_json()["items"]
        assert [(t["from_user"], t["from_department"], t["to_user"], t["to_department"], t["reason"])
                for t in items] == [("engineer1", "after_sales", "product1", "product", "固件问题需产品部排查")]
        assert notes("product1", "transfer_in", number) and notes("engineer1", "transfer_out", number)
        # the analysis window is the one set when handling started, not a new one
        assert local(ticket["open_tasks"][0]["due_at"]) == at(0, 24)
        ticket = report(api, number, "product1")
        assert holders(ticket) == [("work_issue", "product1")]
        ticket = solve(api, number, "product1")
        assert holders(ticket) == [("confirm", "engineer1")]  # first-contact ownership: the owner confirms


def test_a_transfer_after_the_report_keeps_it_and_the_receiver_works_on(api):
    """The boundary event sits on the task inside the handling subprocess: what the subprocess recorded stays."""
    with clock(api, TUE):
        number = handled_fault(api)
        report(api, number, "engineer1")
        ticket = api.complete("engineer1", number, "work_issue", action="已订购备件")
        assert holders(ticket) == [("work_issue", "engineer1")]
        ticket = transfer(api, number, "supervisor1")
        assert holders(ticket) == [("work_issue", "product1")]  # the report is not asked again
        task = api.task_for("product1", number, "work_issue")
        data = api.get(f"/tasks/{task['id']}", "product1").get_json()["data"]
        assert data["cause"] == "电源模块损坏" and data["analysis_at"] and data["action"] == "已订购备件"
        ticket = solve(api, number, "product1")
        assert holders(ticket) == [("confirm", "engineer1")]


def test_a_transfer_to_a_department_goes_to_its_least_loaded_handler(api):
    with clock(api, TUE):
        product = db.session.scalar(select(Department).filter_by(code="product"))
        user = User(username="product2", display_name="钱产品", department=product,
                    roles=[db.session.get(Role, "handler")])
        user.set_password(PASSWORD)
        db.session.add(user)
        db.session.commit()
        busy = api.new_ticket(type="requirement_change")  # quick_response: product1 holds its acceptance
        assert busy["assignee"] == "product1"
        number = handled_fault(api)
        ticket = transfer(api, number, "engineer1", assignee=None)
        assert holders(ticket) == [("analysis_report", "product2")]
        assert ticket["department"] == "product"


def test_before_acceptance_and_at_first_contact_a_transfer_is_refused(api):
    with clock(api, TUE):
        number, _ = new_fault(api)
        for user in ("engineer1", "supervisor1"):
            response = api.post(f"/tickets/{number}/transfer", user, json=transfer_body())
            assert response.status_code == 409, response.get_json()
            assert "改派" in response.get_json()["error"]  # a supervisor redispatches instead
        accept(api, number, "engineer1")
        response = api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body())
        assert response.status_code == 409, response.get_json()
        assert api.ticket(number)["assignee"] == "engineer1"


def test_the_previous_handler_still_reads_and_both_comment(api):
    with clock(api, TUE):
        number = handled_fault(api)
        transfer(api, number, "engineer1")
        assert api.get(f"/tickets/{number}", "engineer1").status_code == 200
        assert api.post(f"/tickets/{number}/comments", "engineer1",
                        json={"body": "  现场照片已上传  "}).status_code == 201
        assert api.post(f"/tickets/{number}/comments", "product1", json={"body": "收到，排查固件"}).status_code == 201
        items = api.get(f"/tickets/{number}/comments", "engineer1").get_json()["items"]
        assert [(c["author"], c["body"]) for c in items] == [("engineer1", "现场照片已上传"),
                                                             ("product1", "收到，排查固件")]
        # the previous handler no longer transfers it
        assert api.post(f"/tickets/{number}/transfer", "engineer1", json=transfer_body()).status_code == 403


# ------------------------------------------------------------------------------------------------ collaboration

def test_two_supporting_departments_each_get_a_support_task_with_its_deadline_and_the_lead_continues(api):
    with clock(api, TUE):
        number = handled_fault(api)
        response = api.post(f"/tickets/{number}/collaboration", "engineer1", json={"supporters": [
            {"department": "product", "assignee": "product1", "task": "排查固件版本", "milestone": "给出排查结论",
             "due_at": at(0, 6).isoformat()},
            {"department": "customer_service", "task": "联系客户确认使用场景", "milestone": "场景确认",
             "due_at": at(0, 3).isoformat()}]})
        assert response.status_code == 200, response.get_json()
        body = response.get_json()
        assert body["lead"] == {"department": "after_sales", "assignee": "engineer1"}
        assert [(s["department"], s["assignee"], s["state"]) for s in body["supporters"]] == [
            ("product", "product1", "open"), ("customer_service", "service1", "open")]
        assert [local(s["due_at"]) for s in body["supporters"]] == [at(0, 6), at(0, 3)]
        ticket = api.ticket(number)
        assert holders(ticket) == [("analysis_report", "engineer1"), ("support_task", "product1"),
                                   ("support_task", "service1")]
        assert local(api.task_for("service1", number, "support_task")["due_at"]) == at(0, 3)
        assert notes("product1", "collaboration", number) and notes("service1", "collaboration", number)
    with clock(api, at(0, 1)):
        report(api, number, "engineer1")  # the lead keeps handling meanwhile
        api.complete("product1", number, "support_task", support_result="固件版本过旧，建议升级")
    with clock(api, at(0, 4)):
        entry = api.get(f"/tickets/{number}/collaboration", "agent1").get_json()["supporters"][1]
        assert entry["state"] == "open" and entry["overdue"] is True
        api.complete("service1", number, "support_task", support_result="客户用于产线控制")
        collaboration = api.get(f"/tickets/{number}/collaboration", "agent1").get_json()
        assert [s["completed_by"] for s in collaboration["supporters"]] == ["product1", "service1"]
        assert holders(api.ticket(number)) == [("work_issue", "engineer1")]
        ticket = solve(api, number, "engineer1")
        assert holders(ticket) == [("confirm", "engineer1")]


def test_before_acceptance_no_collaboration_starts(api):
    with clock(api, TUE):
        number, _ = new_fault(api)
        response = api.post(f"/tickets/{number}/collaboration", "supervisor1", json={"supporters": [
            {"department": "product", "task": "排查固件", "milestone": "结论", "due_at": at(0, 6).isoformat()}]})
        assert response.status_code == 409, response.get_json()


# ------------------------------------------------------------------------------------------------ progress cycles

def test_the_progress_cycle_goes_on_through_a_transfer_never_stacks_and_follows_the_new_handler(api):
    with clock(api, TUE):
        number, _ = new_fault(api, impact="core_down")  # P1: progress every 2 hours
    with clock(api, at(5)):
        accept(api, number, "engineer1")
        ticket = contact(api, number, "engineer1")
        assert local(ticket["next_update_at"]) == at(5, 2)
    with clock(api, at(6, 2)):  # first cycle
        assert fire_due_timers() == 1
        assert holders(api.ticket(number)) == [("analysis_report", "engineer1"), ("share_progress", "engineer1")]
    with clock(api, at(10, 2)):
        ticket = transfer(api, number, "engineer1")
        # the transfer leaves the cycle alone (the next sync time stays); the progress update already due goes to
        # the new handler with the rest of the handling
        assert holders(ticket) == [("analysis_report", "product1"), ("share_progress", "product1")]
        assert local(ticket["next_update_at"]) == at(6, 4)
    with clock(api, at(6, 4)):  # second cycle while the first task is still open: not stacked
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert opened(ticket, "share_progress") == 1 and open_tasks_named(number, "share_progress") == 1
        api.complete("product1", number, "share_progress", method="phone", message="已转产品部排查固件")
    with clock(api, at(6, 6)):  # third cycle: the task goes to the new handler
        assert fire_due_timers() == 1
        ticket = api.ticket(number)
        assert holders(ticket) == [("analysis_report", "product1"), ("share_progress", "product1")]
        assert opened(ticket, "share_progress") == 2
    with clock(api, at(6, 8)):  # fourth cycle, product1's task still open: not stacked
        assert fire_due_timers() == 1
        assert open_tasks_named(number, "share_progress") == 1
        api.complete("product1", number, "share_progress", method="email", message="已定位固件问题")
        report(api, number, "product1")
        ticket = solve(api, number, "product1")
        assert holders(ticket) == [("confirm", "engineer1")]
    with clock(api, at(6, 12)):
        assert fire_due_timers() == 0  # no more cycles once handling ended
        assert names(api.ticket(number)) == ["confirm"]
