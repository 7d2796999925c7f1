"""The server-rendered pages: log-in and binding, languages, customers, tickets, the inbox, task forms, supervisors."""
import io
import re
from datetime import datetime, timedelta, timezone

import time_machine

from app.auth.models import User
from app.extensions import db
from app.timers.service import fire_due_timers
from tests.conftest import PASSWORD

T0 = datetime(2026, 3, 2, 1, 0, tzinfo=timezone.utc)  # 09:00 in Shanghai


def text(response):
    return response.get_data(as_text=True)


def login(client, username, password=PASSWORD):
    response = client.post("/login", data={"username": username, "password": password})
    assert response.status_code == 302, text(response)
    return response


def first_customer(client):
    page = text(client.get("/customers?q=精工"))
    return re.search(r'href="/customers/(C\d+)"', page).group(1)


def ticket_form(**fields):
    data = {"description": "生产线设备无法启动，影响交付", "type": "complaint", "urgency": "high", "channel": "phone"}
    data.update(fields)
    return data


# ------------------------------------------------------------------------------------ log-in, binding

def test_anonymous_is_sent_to_login(client):
    response = client.get("/customers?q=精工")
    assert response.status_code == 302
    assert response.headers["Location"].startswith("/login?next=")
    page = text(client.get(response.headers["Location"]))
    assert "请先登录再访问此页面。" in page and "工号" in page and "密码" in page
    assert 'name="csrf_token"' in page


def test_login_failure_keeps_username_and_success_redirects(client):
    wrong = client.post("/login", data={"username": "agent1", "password": "wrong"})
    assert wrong.status_code == 401
    assert "工号或密码错误。" in text(wrong)
    assert 'value="agent1"' in text(wrong)
    missing = client.post("/login", data={"username": "agent1", "password": ""})
    assert missing.status_code == 422 and "此项为必填项。" in text(missing) and 'value="agent1"' in text(missing)

    response = client.post("/login", data={"username": "agent1", "password": PASSWORD, "next": "/customers"})
    assert response.status_code == 302 and response.headers["Location"] == "/customers"
    inbox = text(client.get("/"))
    assert "王小明" in inbox and "客服专员" in inbox and "工作台" in inbox


def test_login_refuses_foreign_next_and_logout_is_a_post(client):
    response = client.post("/login", data={"username": "agent1", "password": PASSWORD, "next": "//evil.example"})
    assert response.headers["Location"] == "/"
    assert client.get("/logout").status_code == 405
    out = client.post("/logout")
    assert out.status_code == 302 and out.headers["Location"] == "/login"
    assert "您已退出登录。" in text(client.get("/login"))
    assert client.get("/").status_code == 302


def test_first_login_binds_department_and_role(client, app):
    user = User(username="newbie", display_name="新同事")
    user.set_password(PASSWORD)
    db.session.add(user)
    db.session.commit()

    response = login(client, "newbie")
    assert response.headers["Location"] == "/profile/bind"
    assert client.get("/customers").headers["Location"] == "/profile/bind"  # nothing else until bound
    page = text(client.get("/profile/bind"))
    assert "选择部门和角色" in page and "售后部" in page and "部门处理人" in page
    assert "系统管理员" not in page and "流程负责人" not in page

    bad = client.post("/profile/bind", data={"department": "space", "role": "admin"})
    assert bad.status_code == 422
    assert "请从列表中选择部门。" in text(bad) and "请从列表中选择角色。" in text(bad)

    good = client.post("/profile/bind", data={"department": "after_sales", "role": "handler"})
    assert good.status_code == 302 and good.headers["Location"] == "/"
    db.session.expire_all()
    bound = db.session.scalar(db.select(User).where(User.username == "newbie"))
    assert bound.department.code == "after_sales" and bound.role_codes == ["handler"]
    assert "已保存您的部门和角色。" in text(client.get("/"))
    assert client.get("/profile/bind").headers["Location"] == "/"


# ------------------------------------------------------------------------------------------ languages

def test_chinese_by_default_and_english_switch(client):
    login(client, "agent1")
    page = text(client.get("/"))
    assert '<html lang="zh-CN">' in page
    assert "客户问题快速响应" in page and "工作台" in page and ">客户<" in page and "退出" in page
    assert 'href="/?lang=en"' in page

    english = text(client.get("/?lang=en"))
    assert '<html lang="en">' in english
    assert "Quick-response service desk" in english and ">Inbox<" in english and "Log out" in english
    assert "工作台" not in english and 'href="/?lang=zh_CN"' in english
    # the choice sticks for the session, including the service layer's messages and the code labels
    customers = text(client.get("/customers?q=精工"))
    assert "Customer number" in customers and "Manufacturing" in customers
    bad = client.post("/customers/new", data={"name": "", "industry": "x", "cooperation_start": "",
                                              "contact_person": "", "phone": ""})
    assert "This field is required." in text(bad) and "Enter a date as YYYY-MM-DD." in text(bad)
    back = text(client.get("/customers?lang=zh_CN"))
    assert "客户编号" in back and "Customer number" not in back


def test_service_messages_are_translated_on_the_login_page(client):
    client.get("/login?lang=en")
    assert "Wrong employee number or password." in text(client.post("/login", data={"username": "x", "password": "y"}))
    client.get("/login?lang=zh_CN")
    assert "工号或密码错误。" in text(client.post("/login", data={"username": "x", "password": "y"}))


# ------------------------------------------------------------------------------------------ customers

def test_customer_search_is_fuzzy_and_no_match_invites_to_create(client):
    login(client, "agent1")
    page = text(client.get("/customers?q=精工"))
    assert "上海精工制造有限公司" in page and "杭州惠民银行" not in page
    assert "杭州惠民银行" in text(client.get("/customers?q=吴主"))  # contact person
    assert "杭州惠民银行" in text(client.get("/customers?q=1390013"))  # part of a phone number
    number = first_customer(client)
    assert "上海精工制造有限公司" in text(client.get(f"/customers?q={number.lower()}"))
    none = text(client.get("/customers?q=火星贸易"))
    assert "没有与“火星贸易”匹配的客户。" in none and "请先新建客户" in none
    assert 'href="/customers/new?name=' in none
    assert "火星贸易" in text(client.get("/customers/new?name=火星贸易"))
    assert client.get("/customers?after=abc").status_code == 200  # bad paging input is no error


def test_customer_create_shows_each_error_keeps_input_then_succeeds(client):
    login(client, "agent1")
    form = text(client.get("/customers/new"))
    assert 'name="industry"' in form and "制造业" in form and 'type="date"' in form
    bad = client.post("/customers/new", data={
        "name": "", "industry": "space", "cooperation_start": "2024/01/01", "contact_person": "",
        "phone": "1380013800", "email": "not-an-email",
    })
    page = text(bad)
    assert bad.status_code == 422
    assert "请更正标出的字段。" in page
    for field in ("name", "industry", "cooperation_start", "contact_person", "phone", "email"):
        assert f'id="err-{field}"' in page, field
    assert "请从列表中选择行业。" in page
    assert "请按 YYYY-MM-DD 格式输入日期。" in page
    assert "请输入以 1 开头的 11 位手机号码。" in page
    assert "请输入有效的电子邮箱地址。" in page
    assert page.count("此项为必填项。") == 2  # name and contact person
    assert 'value="2024/01/01"' in page and 'value="1380013800"' in page and 'value="not-an-email"' in page

    good = client.post("/customers/new", data={
        "name": "苏州新材料有限公司", "industry": "manufacturing", "cooperation_start": "2024-01-01",
        "contact_person": "孙工", "phone": "13812345678", "email": "",
    })
    assert good.status_code == 302
    number = good.headers["Location"].rsplit("/", 1)[1]
    assert re.fullmatch(r"C\d+", number)
    profile = text(client.get(good.headers["Location"]))
    assert f"客户 {number} 已创建。" in profile
    assert number in profile and "苏州新材料有限公司" in profile and "2024-01-01" in profile and "孙工" in profile
    assert "该客户暂无工单。" in profile and f'href="/customers/{number}/tickets/new"' in profile


def test_customer_edit_keeps_the_number(client):
    login(client, "agent1")
    number = first_customer(client)
    form = text(client.get(f"/customers/{number}/edit"))
    assert 'id="customer-number">' + number in form and 'name="number"' not in form
    assert 'value="上海精工制造有限公司"' in form and 'value="2021-03-15"' in form

    data = {"name": "上海精工制造股份有限公司", "industry": "manufacturing", "cooperation_start": "2021-03-15",
            "contact_person": "周经理", "phone": "13800138000", "email": ""}
    forged = client.post(f"/customers/{number}/edit", data={**data, "number": "C1"})
    assert forged.status_code == 422 and "客户编号不可修改。" in text(forged)
    bad = client.post(f"/customers/{number}/edit", data={**data, "phone": "12"})
    assert bad.status_code == 422 and 'value="12"' in text(bad) and 'value="上海精工制造股份有限公司"' in text(bad)

    saved = client.post(f"/customers/{number}/edit", data=data)
    assert saved.status_code == 302 and saved.headers["Location"] == f"/customers/{number}"
    profile = text(client.get(saved.headers["Location"]))
    assert "上海精工制造股份有限公司" in profile and number in profile
    assert client.get("/customers/C9999999").status_code == 404


def test_customer_profile_shows_outcomes_and_ratings(client, api):
    """R0-2: the profile's interaction history shows each ticket's solution and the customer's rating."""
    number = api.new_ticket()["number"]
    api.complete("engineer1", number, "accept_ticket", contact_note="已联系")
    api.complete("engineer1", number, "handle_ticket", action="更换", status="awaiting_customer",
                 solution="更换电源模块并升级固件", solution_ready=True)
    api.complete("agent1", number, "feedback", method="phone", opinion="satisfied")
    login(client, "agent1")
    profile = text(client.get(f"/customers/{first_customer(client)}"))
    row = re.search(rf"<tr>\s*<td><a [^>]*>{number}</a>.*?</tr>", profile, re.S).group(0)
    assert "更换电源模块并升级固件" in row and "满意" in row and "已完成" in row


# -------------------------------------------------------------------------------------------- tickets

def test_new_ticket_with_attachment_then_ticket_page_and_download(client):
    login(client, "agent1")
    number = first_customer(client)
    form = text(client.get(f"/customers/{number}/tickets/new"))
    assert 'enctype="multipart/form-data"' in form and 'type="file"' in form and "multiple" in form
    assert "系统故障或重大投诉" in form and "常规变更" in form and "信息查询" in form
    assert "售后支持" in form and "线下网点" in form

    bad = client.post(f"/customers/{number}/tickets/new", data={"description": "坏了", "channel": "phone"})
    page = text(bad)
    assert bad.status_code == 422
    assert "请客观、具体地描述问题（至少 5 个字符）。" in page
    assert 'id="err-type"' in page and 'id="err-urgency"' in page
    assert ">坏了</textarea>" in page

    response = client.post(
        f"/customers/{number}/tickets/new",
        data={**ticket_form(), "attachments": (io.BytesIO(b"\x89PNG fake screenshot"), "shot.png")},
        content_type="multipart/form-data",
    )
    assert response.status_code == 302
    ticket_number = response.headers["Location"].rsplit("/", 1)[1]
    assert ticket_number.startswith("SR")
    page = text(client.get(response.headers["Location"]))
    assert f"工单 {ticket_number} 已创建。" in page
    assert "待受理" in page and "投诉" in page and "电话" in page and "售后部" in page and "张工 (engineer1)" in page
    assert "受理工单" in page  # the open task and the current step
    assert "工单已创建" in page and "任务已生成" in page  # timeline
    link = re.search(rf'href="(/tickets/{ticket_number}/attachments/\d+)">shot.png<', page).group(1)
    download = client.get(link)
    assert download.status_code == 200 and download.data == b"\x89PNG fake screenshot"
    assert "shot.png" in download.headers["Content-Disposition"]
    assert client.get(f"/tickets/{ticket_number}/attachments/999").status_code == 404
    assert client.get(f"/tickets/{ticket_number}/attachments/99999999999999999999999").status_code == 404

    profile = text(client.get(f"/customers/{number}"))
    assert ticket_number in profile and "待受理" in profile


# ------------------------------------------------------------------------------------ inbox and tasks

def test_inbox_shows_time_left_then_overdue(client, api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        login(client, "engineer1")
        page = text(client.get("/"))
        assert number in page and "受理工单" in page and "上海精工制造有限公司" in page
        assert "剩余 30 分钟" in page and "is-overdue" not in page
        assert "2026-03-02 09:00" in page  # created, shown in Shanghai time
        english = text(client.get("/?lang=en"))
        assert "Accept the ticket" in english and "30 min left" in english
        client.get("/?lang=zh_CN")
    with time_machine.travel(T0 + timedelta(minutes=35), tick=False):
        page = text(client.get("/"))
        assert "已超时 5 分钟" in page and "is-overdue" in page


def test_task_form_errors_keep_input_success_advances_and_second_completion_conflicts(client, api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        accept = api.task_for("engineer1", number, "accept_ticket")
        login(client, "engineer1")
        page = text(client.get(f"/tasks/{accept['id']}"))
        assert "受理后请在时限内与客户首次联系。" in page
        assert '<textarea id="f-contact_note" name="contact_note"' in page and "首次联系记录" in page
        assert "生产线设备无法启动" in page  # the ticket's description for context

        bad = client.post(f"/tasks/{accept['id']}", data={"contact_note": "x"})
        assert bad.status_code == 422
        assert "请至少输入 2 个字符。" in text(bad) and ">x</textarea>" in text(bad)

        good = client.post(f"/tasks/{accept['id']}", data={"contact_note": "已电话联系客户，确认故障现象"})
        assert good.status_code == 302 and good.headers["Location"] == f"/tickets/{number}"
        ticket = text(client.get(good.headers["Location"]))
        assert "“受理工单”已完成" in ticket and "处理中" in ticket
        assert "首次联系记录" in ticket and "已电话联系客户，确认故障现象" in ticket  # readable timeline
        assert "按时完成" in ticket  # the response deadline was met

        again = client.post(f"/tasks/{accept['id']}", data={"contact_note": "再次提交的记录"})
        assert again.status_code == 409
        assert "此任务已不再处于待办状态。" in text(again) and ">再次提交的记录</textarea>" in text(again)

        handle = api.task_for("engineer1", number, "handle_ticket")
        page = text(client.get(f"/tasks/{handle['id']}"))
        assert 'type="datetime-local"' in page and 'type="checkbox"' in page
        assert 'type="radio" name="status" value="awaiting_customer"' in page and "待客户确认" in page
        bad = client.post(f"/tasks/{handle['id']}", data={"action": "远程排查", "solution_ready": "on"})
        page = text(bad)
        assert bad.status_code == 422
        assert 'id="err-status"' in page and 'id="err-solution"' in page
        assert ">远程排查</textarea>" in page and re.search(r'name="solution_ready" value="on"\s+checked', page)

        done = client.post(f"/tasks/{handle['id']}", data={"action": "远程排查", "status": "processing",
                                                           "next_update_at": "2026-03-02T15:00"})
        assert done.status_code == 302
        ticket = text(client.get(f"/tickets/{number}"))
        assert "2026-03-02 15:00" in ticket and "下次进度更新" in ticket


def test_view_only_and_forbidden_task_pages(client, api):
    number = api.new_ticket()["number"]
    accept = api.task_for("engineer1", number, "accept_ticket")
    login(client, "supervisor1")
    page = text(client.get(f"/tasks/{accept['id']}"))
    assert "您可以查看此任务，但无权处理。" in page and "<fieldset class=\"plain\" disabled>" in page
    assert client.post(f"/tasks/{accept['id']}", data={"contact_note": "主管代填"}).status_code == 403
    client.post("/logout")
    login(client, "agent1")
    forbidden = client.get(f"/tasks/{accept['id']}")
    assert forbidden.status_code == 403 and "您无权查看此任务。" in text(forbidden)
    missing = client.get("/tasks/no-such-task")
    assert missing.status_code == 404 and "任务不存在。" in text(missing)


# ---------------------------------------------------------------------------------------- supervisors

def test_supervisor_pages_are_for_supervisors_only(client):
    login(client, "agent1")
    assert "/supervisor/monitor" not in text(client.get("/"))
    for url in ("/supervisor/monitor", "/supervisor/escalations"):
        response = client.get(url)
        assert response.status_code == 403 and "只有主管可以查看此页面。" in text(response)


def test_escalations_claim_and_overdue_monitor(client, api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
        login(client, "supervisor1")
        nav = text(client.get("/"))
        assert 'href="/supervisor/monitor"' in nav and 'href="/supervisor/escalations"' in nav
        assert "没有待处理的升级任务。" in text(client.get("/supervisor/escalations"))
        monitor = text(client.get("/supervisor/monitor"))
        assert number in monitor and "待受理" in monitor
        assert "没有超时工单。" in text(client.get("/supervisor/monitor?overdue=1"))
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        assert fire_due_timers() == 1
        page = text(client.get("/supervisor/escalations"))
        assert number in page and "超时改派" in page and "未认领" in page
        reassign = api.task_for("supervisor1", number, "reassign_ticket")
        form = text(client.get(f"/tasks/{reassign['id']}"))
        assert '<select id="f-assignee" name="assignee"' in form
        assert 'value="engineer1"' in form and 'value="product1"' in form and 'value="agent1"' not in form
        assert 'value="after_sales"' in form and "产品部" in form
        claimed = client.post(f"/tasks/{reassign['id']}/claim", data={"next": "/supervisor/escalations"})
        assert claimed.headers["Location"] == "/supervisor/escalations"
        page = text(client.get("/supervisor/escalations"))
        assert f"您已认领工单 {number} 的任务“超时改派”。" in page and "陈主管 (supervisor1)" in page
    with time_machine.travel(T0 + timedelta(hours=2, minutes=1), tick=False):
        overdue = text(client.get("/supervisor/monitor?overdue=1"))
        assert number in overdue and "badge overdue" in overdue and "已超时 1 分钟" in overdue
        assert text(client.get("/supervisor/monitor?overdue=1&status=bogus&after=zz")).count(number) >= 1  # bad filters ignored
        assert number not in text(client.get("/supervisor/monitor?status=processing"))


def test_claim_conflict_is_a_message_not_an_error(client, api):
    with time_machine.travel(T0, tick=False):
        number = api.new_ticket()["number"]
    with time_machine.travel(T0 + timedelta(minutes=31), tick=False):
        fire_due_timers()
        reassign = api.task_for("supervisor1", number, "reassign_ticket")
        api.post(f"/tasks/{reassign['id']}/claim", "admin")
        login(client, "supervisor1")
        response = client.post(f"/tasks/{reassign['id']}/claim", data={"next": "/"})
        assert response.status_code == 302
        assert "此任务已被他人认领。" in text(client.get("/"))


# ---------------------------------------------------------------------------------------- error pages

def test_error_pages_use_the_layout(client):
    login(client, "agent1")
    missing = client.get("/tickets/SR0000")
    assert missing.status_code == 404 and "不存在编号为 SR0000 的工单。" in text(missing) and "工作台" in text(missing)
    unknown = client.get("/no/such/page")
    assert unknown.status_code == 404 and "页面不存在。" in text(unknown) and "客户问题快速响应" in text(unknown)
    api_unknown = client.get("/api/v1/no-such-thing")
    assert api_unknown.status_code == 404 and "error" in api_unknown.get_json()
    wrong_method = client.delete("/customers")
    assert wrong_method.status_code == 405 and "GET" in wrong_method.headers["Allow"]
    assert "此页面不支持该操作。" in text(wrong_method)
    api_wrong = client.open("/api/v1/tickets/SR1", method="TRACE")
    assert api_wrong.status_code == 405 and "GET" in api_wrong.headers["Allow"] and "error" in api_wrong.get_json()


def test_odd_input_is_never_a_server_error(client):
    login(client, "agent1")
    for url in ("/customers/C%00", "/tickets/SR%00", "/tasks/%00", "/?after=garbage|x", "/?after=2026-01-01T00:00|zz",
                "/customers?q=%00", "/tickets/SR1/attachments/abc", "/customers?after=99999999999999999999999"):
        assert client.get(url).status_code in (200, 404), url
    weird = client.post("/customers/new", data={"name": "名\x00称", "industry": "retail", "cooperation_start": "2024-02-30",
                                                "contact_person": "x" * 300, "phone": "１３８００１３８０００"})
    assert weird.status_code == 422 and "请按 YYYY-MM-DD 格式输入日期。" in text(weird)
    assert client.post("/login", data={"username": "a\x00b", "password": "x"}).status_code == 401


def test_inbox_and_monitor_pages_through_long_lists(client, api, monkeypatch):
    from app.web import views

    monkeypatch.setattr(views, "PAGE", 1)
    first = api.new_ticket()["number"]
    second = api.new_ticket()["number"]
    login(client, "engineer1")
    page = text(client.get("/"))
    assert first in page and second not in page
    more = re.search(r'<a href="([^"]+)">更多任务', page).group(1).replace("&amp;", "&")
    page = text(client.get(more))
    assert second in page and first not in page
    client.post("/logout")
    login(client, "supervisor1")
    page = text(client.get("/supervisor/monitor"))
    assert first in page and second not in page
    following = re.search(r'<a href="([^"]+)">下一页', page).group(1).replace("&amp;", "&")
    page = text(client.get(following))
    assert second in page and first not in page and "第一页" in page


# ----------------------------------------------------------------------------------------- redispatch

def test_supervisor_redispatches_from_the_ticket_page(client, api):
    number = api.new_ticket()["number"]
    login(client, "agent1")
    assert "redispatch" not in text(client.get(f"/tickets/{number}"))  # agents do not see the form
    client.post("/logout")
    login(client, "supervisor1")
    page = text(client.get(f"/tickets/{number}"))
    assert f'action="/tickets/{number}/redispatch"' in page and "改派工单" in page
    bad = client.post(f"/tickets/{number}/redispatch", data={"assignee": "", "reason": "转给产品部看看"})
    assert bad.status_code == 422
    assert "此项为必填项。" in text(bad) and "转给产品部看看" in text(bad)  # the typed reason is kept
    done = client.post(f"/tickets/{number}/redispatch", data={"assignee": "product1", "department": "product",
                                                             "reason": "属于产品需求"}, follow_redirects=True)
    page = text(done)
    assert done.status_code == 200 and "已改派" in page
    assert "主管改派" in page and "属于产品需求" in page  # in the timeline
    assert api.ticket(number)["assignee"] == "product1"
