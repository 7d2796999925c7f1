"""Report figures against a small data set computed by hand (SQLite and PostgreSQL), drill-downs, exports in
bounded memory, customer import with errors per row and nothing half imported."""
import csv
import io
import tracemalloc
from datetime import datetime, timedelta, timezone

import pytest
import time_machine
from openpyxl import Workbook, load_workbook
from sqlalchemy import func, insert, select, text

from app.auth.models import Department, User
from app.customers.models import Customer
from app.extensions import db
from app.reports import export, service, sheets
from app.tickets.models import Ticket, TicketEvent
from tests.conftest import Api
from tests.integration.test_postgres import pg_app, pg_url  # noqa: F401  (fixtures)

NOW = datetime(2026, 3, 10, 4, 0, tzinfo=timezone.utc)


def utc(day, hour, minute=0):
    return datetime(2026, 3, day, hour, minute, tzinfo=timezone.utc)


def build_tickets():
    """Seven tickets with known times (local time = UTC+8); five fall in the week 2026-03-02 .. 03-08.

    T1 03-02 09:00 local, complaint/high/phone: responded after 30 min (due 2 h), resolved after 4 h, closed,
       satisfied, redispatched once.
    T2 03-02 23:30 local, complaint/medium/online: responded after 3 h (due 2 h: late), unresolved, reopened
       once, unsatisfied, reassigned once after a lapsed window (and one ordinary completed task).
    T3 03-03 00:30 local, consultation/low/phone: no response, its deadline (03-04) passed: late.
    T4 03-05 10:00 local, consultation/high/email: responded after 10 min, resolved after 6 h, closed,
       satisfied, reopened twice.
    T6 03-04 08:00 local, after_sales_support/low/partner: no response deadline, open.
    Outside: one at 03-01 23:59 local, one at 03-09 00:00 local.
    Working time (as the flow measured it in each ticket's calendar): T1 responded after 30 min and resolved after
    4 h; T2 responded after 1 h (its 3 h fell mostly outside working hours); T4 responded after 10 min, resolved
    after 2 h (a pause waiting for the customer left out).
    """
    conn = db.session.connection()
    customer = db.session.scalar(select(Customer.id).order_by(Customer.id).limit(1))
    agent = db.session.scalar(select(User.id).where(User.username == "agent1"))
    departments = dict(db.session.execute(select(Department.code, Department.id)).all())
    after_sales = next(iter(departments.values()))
    base = {"customer_id": customer, "created_by_id": agent, "description": "设备故障，无法启动", "status": "processing",
            "reopen_count": 0, "department_id": after_sales, "response_due_at": None, "first_responded_at": None,
            "resolved_at": None, "closed_at": None, "satisfaction": None,
            "response_working_seconds": None, "resolution_working_seconds": None, "transfer_count": 0}
    rows = [
        dict(number="R1", type="complaint", urgency="high", channel="phone", created_at=utc(2, 1),
             response_due_at=utc(2, 3), first_responded_at=utc(2, 1, 30), resolved_at=utc(2, 5), closed_at=utc(2, 6),
             satisfaction="satisfied", status="closed", response_working_seconds=1800, transfer_count=1,
             resolution_working_seconds=14400),
        dict(number="R2", type="complaint", urgency="medium", channel="online", created_at=utc(2, 15, 30),
             response_due_at=utc(2, 17, 30), first_responded_at=utc(2, 18, 30), reopen_count=1,
             response_working_seconds=3600, transfer_count=1,
             satisfaction="unsatisfied", department_id=None),
        dict(number="R3", type="consultation", urgency="low", channel="phone", created_at=utc(2, 16, 30),
             response_due_at=utc(3, 16, 30)),
        dict(number="R4", type="consultation", urgency="high", channel="email", created_at=utc(5, 2),
             response_due_at=utc(5, 4), first_responded_at=utc(5, 2, 10), resolved_at=utc(5, 8), closed_at=utc(5, 9),
             satisfaction="satisfied", reopen_count=2, status="closed", response_working_seconds=600,
             resolution_working_seconds=7200),
        dict(number="R6", type="after_sales_support", urgency="low", channel="partner", created_at=utc(4, 0)),
        dict(number="R0", type="complaint", urgency="high", channel="phone", created_at=utc(1, 15, 59),
             transfer_count=1),
        dict(number="R9", type="complaint", urgency="high", channel="phone", created_at=utc(8, 16)),
    ]
    ids = {}
    for row in rows:
        ids[row["number"]] = conn.execute(insert(Ticket.__table__).returning(Ticket.__table__.c.id),
                                          {**base, **row}).scalar_one()
    history = [
        (ids["R1"], "redispatched", {"message": "redispatch"}),
        (ids["R2"], "task_completed", {"task": "reassign_ticket"}),
        (ids["R2"], "task_completed", {"task": "handle_ticket"}),
        (ids["R2"], "created", {}),
        (ids["R0"], "redispatched", {}),
    ]
    conn.execute(insert(TicketEvent.__table__), [
        {"ticket_id": tid, "at": utc(6, 0), "actor": "supervisor1", "action": action, "detail": detail}
        for tid, action, detail in history])
    conn.execute(text("UPDATE tickets SET priority = urgency"))
    conn.execute(text("UPDATE tickets SET priority = 'P1' WHERE number = 'R1'"))  # as aftersales_priority.dmn decides
    build_surveys(ids)
    db.session.commit()
    return departments


def build_surveys(ids):
    """Completed surveys (1-5 scores) for R1 and R4 in the week, R0 outside it; R2's survey left out of `overall`
    and `resolution` (an older form without them still counts what it has).

    R1: attitude 5, response_speed 4, resolution 5, overall 5;  R4: attitude 4, response_speed 2, overall 3;
    R0 (outside the week): attitude 1, overall 1.
    """
    from app.engine import latest_definition_id
    from app.surveys.models import Survey, SurveyScore

    definition = latest_definition_id("satisfaction_survey")
    answers = {"R1": {"attitude": 5, "response_speed": 4, "resolution": 5, "overall": 5},
               "R4": {"attitude": 4, "response_speed": 2, "overall": 3}, "R0": {"attitude": 1, "overall": 1}}
    conn = db.session.connection()
    for n, (number, given) in enumerate(answers.items()):
        survey_id = conn.execute(insert(Survey.__table__).returning(Survey.__table__.c.id), {
            "ticket_id": ids[number], "definition_id": definition, "nonce": f"n{n}", "token_hash": f"h{n}",
            "status": "completed", "sent_at": utc(6, 0), "expires_at": utc(13, 0), "completed_at": utc(6, 1),
            "answers": given, "sent_by": "system"}).scalar_one()
        conn.execute(insert(SurveyScore.__table__), [
            {"survey_id": survey_id, "ticket_id": ids[number], "dimension": k, "value": str(v)}
            for k, v in given.items()])


def week_params(**args):
    return service.parse_params({"start": "2026-03-02", "end": "2026-03-08", **args})


def check_week_figures():
    result = service.report(week_params(group="urgency"))
    assert result["summary"] == {
        "tickets": 5, "closed": 2, "resolved": 2, "response_due": 4, "responded_on_time": 2,
        "on_time_response_rate": 0.5, "resolution_rate": 0.4, "avg_response_seconds": 4400,
        "avg_resolution_seconds": 18000, "avg_response_working_seconds": 2000,
        "avg_resolution_working_seconds": 10800, "reopened": 2, "reopens": 3, "transfers": 2}
    assert [(s["key"], s["tickets"]) for s in result["series"]] == [
        ("2026-03-02", 2), ("2026-03-03", 1), ("2026-03-04", 1), ("2026-03-05", 1)]
    high = next(g for g in result["groups"] if g["key"] == "high")
    assert (high["tickets"], high["responded_on_time"], high["on_time_response_rate"], high["transfers"],
            high["avg_resolution_seconds"]) == (2, 2, 1.0, 1, 18000)
    medium = next(g for g in result["groups"] if g["key"] == "medium")
    assert (medium["tickets"], medium["response_due"], medium["responded_on_time"], medium["transfers"],
            medium["reopens"]) == (1, 1, 0, 1, 1)
    assert result["top_types"] == [{"type": "complaint", "tickets": 2}, {"type": "consultation", "tickets": 2},
                                   {"type": "after_sales_support", "tickets": 1}]
    opinion, *survey = result["satisfaction"]
    assert (opinion["dimension"], opinion["scale"], opinion["counts"], opinion["average"]) == (
        "opinion", ["satisfied", "needs_adjustment", "unsatisfied"],
        {"satisfied": 2, "needs_adjustment": 0, "unsatisfied": 1}, None)
    scale = ["5", "4", "3", "2", "1"]
    assert [(d["dimension"], d["scale"], d["answers"], d["average"]) for d in survey] == [
        ("attitude", scale, 2, 4.5), ("response_speed", scale, 2, 3.0), ("resolution", scale, 1, 5.0),
        ("overall", scale, 2, 4.0)]
    assert survey[0]["counts"] == {"5": 1, "4": 1, "3": 0, "2": 0, "1": 0}
    assert survey[1]["counts"] == {"5": 0, "4": 1, "3": 0, "2": 1, "1": 0}
    assert survey[0]["title"] == "服务态度" and survey[0]["labels"]["5"] == "5 非常满意"
    by_priority = service.report(week_params(group="priority"))
    assert [(g["key"], g["tickets"]) for g in by_priority["groups"]] == [("P1", 1), ("high", 1), ("low", 2),
                                                                         ("medium", 1)]
    assert service.report(week_params(priority="P1"))["summary"]["tickets"] == 1
    weekly = service.report(week_params(granularity="week"))
    assert [(s["key"], s["tickets"], s["transfers"]) for s in weekly["series"]] == [("2026-03-02", 5, 2)]
    monthly = service.report(service.parse_params({"start": "2026-03-01", "end": "2026-03-31", "granularity": "month"}))
    assert [(s["key"], s["tickets"]) for s in monthly["series"]] == [("2026-03-01", 7)]
    phone = service.report(week_params(channel="phone"))
    assert (phone["summary"]["tickets"], phone["summary"]["response_due"]) == (2, 2)
    closed = service.report(week_params(basis="closed"))
    assert [(s["key"], s["tickets"]) for s in closed["series"]] == [("2026-03-02", 1), ("2026-03-05", 1)]


def numbers(figure, **args):
    params = week_params(**{k: v for k, v in args.items() if k in ("group", "granularity")})
    figure_args = service.parse_figure({"figure": figure, **args})
    return sorted(t.number for t in service.iter_figure_tickets(params, figure_args, batch=2))


@time_machine.travel(NOW, tick=False)
def test_figures_match_the_hand_computed_week(app):
    build_tickets()
    check_week_figures()
    assert numbers("tickets") == ["R1", "R2", "R3", "R4", "R6"]
    assert numbers("responded_late") == ["R2", "R3"]
    assert numbers("responded_on_time") == ["R1", "R4"]
    assert numbers("transferred") == ["R1", "R2"]
    assert numbers("reopened") == ["R2", "R4"]
    assert numbers("unresolved") == ["R2", "R3", "R6"]
    assert numbers("satisfaction", answer="opinion:unsatisfied") == ["R2"]
    assert numbers("satisfaction", answer="response_speed:2") == ["R4"]
    assert numbers("satisfaction", answer="attitude:1") == []  # R0 lies outside the week
    assert numbers("tickets", bucket="2026-03-03") == ["R3"]
    assert numbers("tickets", group="urgency", value="high") == ["R1", "R4"]


@pytest.mark.postgres
def test_figures_match_on_postgres(pg_app):
    with time_machine.travel(NOW, tick=False):
        build_tickets()
        check_week_figures()
        assert numbers("transferred") == ["R1", "R2"]


@time_machine.travel(NOW, tick=False)
def test_pages_api_and_presets(app, client):
    departments = build_tickets()
    api = Api(client)
    body = api.get("/reports?start=2026-03-02&end=2026-03-08&group=type", "supervisor1").get_json()
    assert body["summary"]["tickets"] == 5 and body["params"]["start"] == "2026-03-02"
    assert {g["key"]: g["tickets"] for g in body["groups"]} == {"complaint": 2, "consultation": 2,
                                                                 "after_sales_support": 1}
    by_department = api.get("/reports?start=2026-03-02&end=2026-03-08", "supervisor1").get_json()["groups"]
    assert sum(g["tickets"] for g in by_department) == 5 and {g["key"] for g in by_department} >= {None}
    weekly = api.get("/reports/weekly?date=2026-03-04", "supervisor1").get_json()
    assert (weekly["params"]["start"], weekly["params"]["end"], weekly["summary"]["tickets"]) == (
        "2026-03-02", "2026-03-08", 5)
    daily = api.get("/reports/daily?date=2026-03-05", "supervisor1").get_json()
    assert (daily["params"]["basis"], daily["summary"]["tickets"]) == ("closed", 1)
    monthly = api.get("/reports/monthly?date=2026-03-15", "supervisor1").get_json()
    assert (monthly["params"]["end"], monthly["summary"]["tickets"]) == ("2026-03-31", 7)
    drill = api.get("/reports/tickets?start=2026-03-02&end=2026-03-08&figure=transferred&limit=1", "supervisor1").get_json()
    assert [t["number"] for t in drill["items"]] == ["R1"] and "next" in drill
    bad = api.get("/reports?start=2026-03-09&end=2026-03-02&granularity=year", "supervisor1")
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"end", "granularity"}
    # the calendar's ends: a field error, not a 500 (a month, a week or a time zone away overflowed)
    for path, field in (("/reports/daily?date=0001-01-01", "date"), ("/reports/monthly?date=9999-12-31", "date"),
                        ("/reports/weekly?date=0001-01-01", "date"), ("/reports?end=9999-12-31", "end"),
                        ("/reports?start=0001-01-01&end=0001-01-02", "start")):
        response = api.get(path, "supervisor1")
        assert response.status_code == 422 and field in response.get_json()["errors"], path
    assert api.get("/reports", "agent1").status_code == 403

    client.post("/login", data={"username": "supervisor1", "password": "pw-demo-123"})
    page = client.get("/reports/weekly?date=2026-03-04").get_data(as_text=True)
    assert "/vendor/echarts/echarts.min.js" in page and "figure=transferred" in page
    assert "周复盘" in page or "Weekly review" in page
    assert client.get("/reports?start=2026-03-02&end=2026-03-08&group=channel").status_code == 200
    assert client.get("/reports?start=bad").status_code == 400
    drill_page = client.get("/reports/tickets?start=2026-03-02&end=2026-03-08&figure=responded_late").get_data(as_text=True)
    assert "R2" in drill_page and "R3" in drill_page and "R1<" not in drill_page
    assert departments


@time_machine.travel(NOW, tick=False)
def test_report_and_list_downloads(app, client):
    build_tickets()
    api = Api(client)
    csv_body = api.get("/reports/tickets/export?start=2026-03-02&end=2026-03-08&figure=tickets&format=csv",
                       "supervisor1")
    assert csv_body.status_code == 200 and csv_body.mimetype == "text/csv"
    lines = list(csv.reader(io.StringIO(csv_body.get_data(as_text=True).lstrip("\ufeff"))))
    assert [line[0] for line in lines[1:]] == ["R1", "R2", "R3", "R4", "R6"]
    xlsx = api.get("/reports/export?start=2026-03-02&end=2026-03-08&group=urgency&format=xlsx", "supervisor1")
    assert xlsx.status_code == 200
    workbook = load_workbook(io.BytesIO(xlsx.data), read_only=True)
    first = list(workbook.worksheets[0].iter_rows(values_only=True))
    assert first[1][:2] == ("全部", 5) or first[1][:2] == ("All", 5)
    assert len(workbook.worksheets) == 4
    monitor = api.get("/exports/tickets?format=xlsx", "supervisor1")
    rows = list(load_workbook(io.BytesIO(monitor.data), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert {r[0] for r in rows[1:]} == {"R2", "R3", "R6", "R0", "R9"}
    assert api.get("/exports/tickets?format=pdf", "supervisor1").status_code == 422


def test_xlsx_export_memory_does_not_grow_with_rows(app, tmp_path):
    """Write-only Excel of 20,000 and of 2,000 rows: the traced peak stays flat (the bench does 200,000)."""

    def rows(n):
        for i in range(n):
            yield [f"SR{i:08d}", "C2026001", "某某制造有限公司", "投诉", "高", "电话", "处理中", "售后部", "王小明",
                   "2026-03-02 09:00", "2026-03-02 11:00", "2026-03-02 09:30", "", "", 0, ""]

    peaks = []
    for n in (2_000, 20_000):
        tracemalloc.start()
        chunks = sum(len(c) for c in export.xlsx_chunks([("t", sheets_header(), rows(n))]))
        peaks.append(tracemalloc.get_traced_memory()[1])
        tracemalloc.stop()
        assert chunks > n * 20
    assert peaks[1] < peaks[0] * 1.5 + 1_000_000, peaks
    assert peaks[1] < 20_000_000


def sheets_header():
    return ["c%d" % i for i in range(16)]


def test_ticket_export_reads_in_batches(app, monkeypatch):
    """The drill-down export fetches in keyset batches: 45 tickets read 2 at a time come out whole and in order."""
    build_tickets()
    conn = db.session.connection()
    first = db.session.scalar(select(Ticket.__table__.c.customer_id).limit(1))
    agent = db.session.scalar(select(User.id).where(User.username == "agent1"))
    conn.execute(insert(Ticket.__table__), [
        {"number": f"B{i:03d}", "customer_id": first, "created_by_id": agent, "type": "complaint", "urgency": "low",
         "channel": "phone", "description": "x" * 10, "status": "new", "reopen_count": 0, "created_at": utc(3, 0, i)}
        for i in range(40)])
    db.session.commit()
    with time_machine.travel(NOW, tick=False):
        params = week_params()
        found = [t.number for t in service.iter_figure_tickets(params, service.parse_figure({}), batch=7)]
    assert len(found) == 45 and len(set(found)) == 45
    with app.test_request_context():
        out = list(sheets.ticket_cells(service.iter_figure_tickets(params, service.parse_figure({}), batch=7)))
    assert len(out) == 45


def _workbook(rows, header=("客户编号", "客户名称", "行业类型", "合作起始时间", "联系人", "联系方式", "邮箱")):
    book = Workbook()
    sheet = book.active
    sheet.append(list(header))
    for row in rows:
        sheet.append(list(row))
    data = io.BytesIO()
    book.save(data)
    data.seek(0)
    return data


def test_customer_import_saves_all_rows_or_none(app, client):
    api = Api(client)
    before = db.session.scalar(select(func.count()).select_from(Customer))
    bad = _workbook([
        ("", "新华贸易有限公司", "零售", "2024-05-01", "李雷", "13800138001", "li@example.com"),
        ("", "", "制造业", "2024-05-01", "韩梅梅", "12345", ""),
        ("", "远洋物流", "不存在的行业", "2024/05/01", "张三", "13900139000", ""),
        ("C1999999", "某公司", "finance", "2024-05-01", "王五", "13700137000", ""),
    ])
    response = api.post("/imports/customers", "agent1", json=None, data={"file": (bad, "customers.xlsx")},
                        content_type="multipart/form-data")
    assert response.status_code == 422
    errors = response.get_json()["errors"]
    assert set(errors) == {"row 3: 客户名称", "row 3: 联系方式", "row 4: 行业类型", "row 4: 合作起始时间",
                           "row 5: 客户编号"}
    assert db.session.scalar(select(func.count()).select_from(Customer)) == before  # nothing half imported

    existing = db.session.scalar(select(Customer).order_by(Customer.id).limit(1))
    good = _workbook([
        ("", "新华贸易有限公司", "零售", "2024-05-01", "李雷", "13800138001", "li@example.com"),
        (existing.number, "改名后的公司", "Finance", datetime(2020, 1, 2), "赵六", "13600136000", ""),
    ])
    response = api.post("/imports/customers", "agent1", json=None, data={"file": (good, "c.xlsx")},
                        content_type="multipart/form-data")
    assert response.status_code == 200, response.get_json()
    assert response.get_json() == {"created": 1, "updated": 1}
    db.session.expire_all()
    assert db.session.get(Customer, existing.id).name == "改名后的公司"
    assert db.session.get(Customer, existing.id).industry == "finance"

    again = api.post("/imports/customers", "agent1", json=None, data={
        "file": (_workbook([("", "新华贸易有限公司", "retail", "2024-05-01", "李雷", "13800138001", "")]), "c.xlsx")},
        content_type="multipart/form-data")
    assert again.status_code == 422 and "row 2: 客户名称" in again.get_json()["errors"]
    not_excel = api.post("/imports/customers", "agent1", json=None, data={"file": (io.BytesIO(b"a,b"), "c.xlsx")},
                         content_type="multipart/form-data")
    assert not_excel.status_code == 422 and "file" in not_excel.get_json()["errors"]
    wrong_columns = api.post("/imports/customers", "agent1", json=None, data={
        "file": (_workbook([("x",)], header=("名称",)), "c.xlsx")}, content_type="multipart/form-data")
    assert wrong_columns.status_code == 422

    exported = api.get("/exports/customers", "agent1")
    rows = list(load_workbook(io.BytesIO(exported.data), read_only=True).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("客户编号", "客户名称", "行业类型", "合作起始时间", "联系人", "联系方式", "邮箱")
    assert len(rows) - 1 == before + 1
    assert any(r[1] == "新华贸易有限公司" and r[2] == "零售" for r in rows)


def test_customer_import_page_shows_row_errors(app, client):
    client.post("/login", data={"username": "agent1", "password": "pw-demo-123"})
    assert client.get("/customers/import").status_code == 200
    response = client.post("/customers/import", data={"file": (_workbook([("", "", "零售", "2024-05-01", "李雷",
                                                                            "13800138001", "")]), "c.xlsx")},
                           content_type="multipart/form-data")
    assert response.status_code == 422 and "row 2: 客户名称" in response.get_data(as_text=True)
    ok = client.post("/customers/import", data={"file": (_workbook([("", "页面导入公司", "零售", "2024-05-01", "李雷",
                                                                      "13800138009", "")]), "c.xlsx")},
                     content_type="multipart/form-data")
    assert ok.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Customer).where(Customer.name == "页面导入公司")) == 1
