"""Partner API keys (R3-1, R3-2): an admin creates (shown once), lists and revokes keys; a partner opens tickets of
channel "partner" and lists only its own; a missing, wrong or revoked key is 401 at once; a channel's number
pattern applies where configured."""
import re
import shutil

from sqlalchemy import select

from app.channels.models import PartnerKey
from app.extensions import db
from app.tickets.models import Ticket
from tests.conftest import Api, make_app

REQUEST = {"name": "钱经理", "company": "苏州云帆科技有限公司", "phone": "13500135000", "email": "qian@yunfan.example.cn",
           "type": "consultation", "urgency": "medium", "description": "想了解新版本的数据导出功能"}


def new_key(api, partner="acme", name="艾克美渠道"):
    response = api.post("/partner-keys", "admin", json={"partner": partner, "name": name})
    assert response.status_code == 201, response.get_json()
    return response.get_json()


def partner_post(client, key, body=None):
    headers = {"X-Partner-Key": key} if key is not None else {}
    return client.post("/api/v1/partner/tickets", json=body or REQUEST, headers=headers)


def partner_list(client, key, query=""):
    return client.get(f"/api/v1/partner/tickets{query}", headers={"X-Partner-Key": key})


def test_a_key_is_shown_once_and_only_its_hash_is_stored(api):
    created = new_key(api)
    key = created["key"]
    assert key.startswith("pk_") and len(key) > 40 and created["prefix"] == key[:10]
    assert (created["partner"], created["name"], created["created_by"], created["revoked_at"]) == (
        "acme", "艾克美渠道", "admin", None)
    listed = api.get("/partner-keys", "admin").get_json()["items"]
    assert [k["id"] for k in listed] == [created["id"]] and "key" not in listed[0]
    row = db.session.get(PartnerKey, created["id"])
    assert key not in (row.key_hash, row.prefix) and len(row.key_hash) == 64


def test_only_admins_manage_keys_and_bad_input_is_named(api):
    assert api.post("/partner-keys", "supervisor1", json={"partner": "acme", "name": "x"}).status_code == 403
    assert api.get("/partner-keys", "supervisor1").status_code == 403
    bad = api.post("/partner-keys", "admin", json={"partner": "Ac me!", "name": "   "})
    assert bad.status_code == 422 and set(bad.get_json()["errors"]) == {"partner", "name"}
    unknown = api.post("/partner-keys", "admin", json={"partner": "acme", "name": "A", "extra": 1})
    assert unknown.status_code == 422 and "extra" in unknown.get_json()["errors"]


def test_a_partner_opens_a_ticket_through_the_normal_flow(api, client):
    key = new_key(api)["key"]
    response = partner_post(client, key)
    assert response.status_code == 201, response.get_json()
    body = response.get_json()
    assert body["channel"] == "partner" and body["type"] == "consultation" and body["status"] != "new"
    ticket = db.session.scalar(select(Ticket).where(Ticket.number == body["number"]))
    assert ticket.created_by.username == "partner:acme" and ticket.created_by.display_name == "艾克美渠道"
    assert not ticket.created_by.active  # the partner's system user cannot log in
    assert ticket.customer.phone == "13500135000" and ticket.process_instance_id is not None
    seen_by_staff = api.ticket(body["number"])
    assert seen_by_staff["channel"] == "partner" and seen_by_staff["open_tasks"]


def test_missing_wrong_and_revoked_keys_are_refused_at_once(api, client):
    created = new_key(api)
    assert partner_post(client, None).status_code == 401
    assert partner_post(client, "").status_code == 401
    wrong = partner_post(client, created["key"] + "x")
    assert wrong.status_code == 401 and "error" in wrong.get_json()
    assert partner_list(client, created["key"]).status_code == 200
    revoked = api.post(f"/partner-keys/{created['id']}/revoke", "admin")
    assert revoked.status_code == 200 and revoked.get_json()["revoked_by"] == "admin"
    assert partner_post(client, created["key"]).status_code == 401  # the very next request
    assert partner_list(client, created["key"]).status_code == 401
    again = api.post(f"/partner-keys/{created['id']}/revoke", "admin")  # revoking again changes nothing
    assert again.get_json()["revoked_at"] == revoked.get_json()["revoked_at"]
    assert api.post("/partner-keys/999999/revoke", "admin").status_code == 404
    assert db.session.scalar(select(Ticket.id).where(Ticket.channel == "partner")) is None
    bearer = client.get("/api/v1/partner/tickets", headers={"Authorization": f"Bearer {api.login('admin')}"})
    assert bearer.status_code == 401  # a staff token is no partner key


def test_a_partner_lists_only_its_own_tickets_from_any_of_its_keys(api, client):
    first, second = new_key(api)["key"], new_key(api)["key"]  # two keys of acme
    other = new_key(api, partner="globex", name="环球渠道")["key"]
    mine = [partner_post(client, k).get_json()["number"] for k in (first, second, first)]
    theirs = partner_post(client, other).get_json()["number"]
    api.new_ticket()  # a phone ticket of the front desk
    listed = partner_list(client, second).get_json()
    assert [t["number"] for t in listed["items"]] == mine[::-1]  # newest first
    assert [t["number"] for t in partner_list(client, other).get_json()["items"]] == [theirs]
    page = partner_list(client, first, "?limit=2").get_json()
    assert len(page["items"]) == 2 and "next" in page
    rest = client.get(page["next"], headers={"X-Partner-Key": first}).get_json()
    assert [t["number"] for t in rest["items"]] == [mine[0]] and "next" not in rest
    assert partner_list(client, first, "?status=closed").status_code == 422  # unknown query parameter


def test_partner_bodies_are_closed_and_validated_per_field(api, client):
    key = new_key(api)["key"]
    bad = partner_post(client, key, {**REQUEST, "phone": "12", "email": "x@", "urgency": "asap", "name": " ",
                                     "description": "长" * 4001, "channel": "phone"})
    errors = bad.get_json()["errors"]
    assert bad.status_code == 422 and set(errors) == {"channel"}  # an unknown field first: the body is closed
    bad = partner_post(client, key, {**REQUEST, "phone": "12", "email": "x@", "urgency": "asap", "name": " ",
                                     "description": "长" * 4001})
    assert bad.status_code == 422
    assert set(bad.get_json()["errors"]) == {"phone", "email", "urgency", "name", "description"}
    assert client.post("/api/v1/partner/tickets", data="nope", content_type="application/json",
                       headers={"X-Partner-Key": key}).status_code == 400


def test_the_admin_page_creates_shows_once_and_revokes(api, client):
    assert client.post("/login", data={"username": "admin", "password": "pw-demo-123"}).status_code == 302
    page = client.post("/admin/partner-keys", data={"partner": "acme", "name": "艾克美渠道"}).get_data(as_text=True)
    key = re.search(r'<code id="new-key">([^<]+)</code>', page).group(1)
    assert partner_list(client, key).status_code == 200
    listing = client.get("/admin/partner-keys").get_data(as_text=True)
    assert key not in listing and key[:10] in listing and "合作伙伴 API 密钥" in listing
    key_id = db.session.scalar(select(PartnerKey.id))
    revoked = client.post(f"/admin/partner-keys/{key_id}/revoke")
    assert revoked.status_code == 302
    assert "已吊销" in client.get("/admin/partner-keys").get_data(as_text=True)
    assert partner_list(client, key).status_code == 401
    bad = client.post("/admin/partner-keys", data={"partner": "", "name": ""})
    assert bad.status_code == 422 and 'id="err-partner"' in bad.get_data(as_text=True)


def test_channel_number_patterns(template_db, tmp_path):
    """A configured channel pattern numbers partner and online tickets; other channels keep the default."""
    path = tmp_path / "patterns.db"
    shutil.copy(template_db, path)
    app = make_app(path, tmp_path, TICKET_NUMBER_PATTERNS=[
        ["*", "partner", "{channel_code}{date:%Y%m%d}{seq:03d}"],
        ["*", "online", "GX{date:%Y%m%d}{seq:03d}"],
        ["*", "*", "SR{date:%Y%m%d}{seq:03d}"]])
    with app.app_context():
        client = app.test_client()
        api = Api(client)
        key = new_key(api)["key"]
        partner_numbers = [partner_post(client, key).get_json()["number"] for _ in range(2)]
        assert [re.fullmatch(r"PT\d{8}(\d{3})", n).group(1) for n in partner_numbers] == ["001", "002"]
        response = client.post("/intake", data={**REQUEST, "type": "complaint", "urgency": "high"})
        assert response.status_code == 302
        online = db.session.scalar(select(Ticket.number).where(Ticket.channel == "online"))
        assert re.fullmatch(r"GX\d{8}001", online)
        assert re.fullmatch(r"SR\d{8}001", api.new_ticket()["number"])
        db.session.remove()
        db.engine.dispose()
