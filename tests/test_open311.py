"""Open311 GeoReport v2: discovery, services, requests, create with a key — and what the
public feed may never show (fast tier, the app's test client)."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
from sqlalchemy import select

from domain.actor import Actor
from domain.reports import lifecycle
from models import Report, Status
from tests.test_reports import JINNING, file_report

KEY = "demo-open311-key"
API = "/open311/v2"


def post(client, fmt="json", **fields):
    data = {"api_key": KEY, "service_code": "environment", "lat": JINNING[0], "long": JINNING[1],
            "description": "河边垃圾堆积", **fields}
    return client.post(f"{API}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None})


def feed(client, **params) -> list[dict]:
    resp = client.get(f"{API}/requests.json", query_string=params)
    assert resp.status_code == 200, resp.data
    return resp.get_json()


def test_discovery_and_services(client):
    assert client.get(f"{API}/discovery.json").get_json()["endpoints"][0]["formats"]
    services = client.get(f"{API}/services.json").get_json()
    codes = {s["service_code"]: s for s in services}
    assert codes["facilities"]["service_name"] == "公共设施维修"
    assert "dispute" not in codes  # a private matter (私事) is no public service
    xml = ET.fromstring(client.get(f"{API}/services.xml").data)
    assert len(xml.findall("service")) == len(services)
    assert client.get(f"{API}/services.csv").status_code == 404


def test_create_enters_the_same_triage(client, fast_db):
    r = post(client, media_url="https://example.org/photo.jpg", address_string="河边步道",
             email="someone@example.org", first_name="张")
    assert r.status_code == 200
    public_id = r.get_json()[0]["service_request_id"]
    report = fast_db.scalar(select(Report).where(Report.public_id == public_id))
    assert report.status is Status.SUBMITTED and report.source == "open311"
    # The point lies in 金宁第二网格's outline: its grid worker has it.
    assert report.assignee_title == "金宁第二网格 网格员" and report.resident_id is None
    one = client.get(f"{API}/requests/{public_id}.json").get_json()[0]
    assert one["status"] == "open" and one["expected_datetime"]
    assert one["lat"] == pytest.approx(JINNING[0], abs=0.001) and one["address"] == "金宁社区"
    assert one["description"] is None and one["media_url"] is None  # until staff approve
    assert "someone@example.org" not in str(one) and "张" not in str(one)


@pytest.mark.parametrize("fields, status, reason", [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "wrong"}, 403, "api_key"),
    ({"service_code": "unicorns"}, 400, "service_code"),
    ({"lat": "north", "long": "east"}, 400, "number"),
    ({"lat": 91, "long": 10}, 400, "out of range"),
    ({"lat": "nan"}, 400, "out of range"),
    ({"lat": "1e999"}, 400, "out of range"),
    ({"lat": 39.9, "long": 116.4}, 400, "outside every community"),
    ({"lat": None}, 400, "required"),
    ({"description": ""}, 400, "description"),
    ({"description": "长" * 501}, 400, "longer than 500"),
    ({"description": "垃圾\x00堆积"}, 400, "NUL"),
    ({"address_string": "址" * 129}, 400, "address_string"),
    ({"email": "a\x00b"}, 400, "NUL"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"media_url": "https://x.org/" + "a" * 600}, 400, "media_url"),
])
def test_bad_creates_are_refused(client, fast_db, fields, status, reason):
    r = post(client, **fields)
    assert r.status_code == status and reason in r.get_json()[0]["description"]
    xml = post(client, fmt="xml", **fields)
    assert xml.status_code == status and ET.fromstring(xml.data).find("error/code").text == str(status)
    assert fast_db.scalars(select(Report)).all() == []


@pytest.mark.parametrize("params", [
    {"start_date": "0001-01-01T00:00:00"}, {"end_date": "0001-01-01T00:00:00"},
    {"start_date": "9999-12-31T23:59:59-12:00"}, {"start_date": "yesterday"},
    {"status": "maybe"}, {"service_code": "a\x00b"}, {"start_date": "2026-01-01\x00"}])
def test_bad_queries_are_400_not_500(client, params):
    resp = client.get(f"{API}/requests.json", query_string=params)
    assert resp.status_code == 400 and resp.get_json()[0]["code"] == 400


def test_list_filters_and_never_shows_the_reporter(client, chat):
    alice = chat.registered("alice", mobile="13812345678")
    file_report(alice)
    post(client)
    everything = feed(client)
    assert len(everything) == 2 and not any(r["service_request_id"].startswith("BS") for r in everything)
    assert [r["service_code"] for r in feed(client, service_code="environment")] == ["environment"]
    assert feed(client, status="closed") == []
    assert len(feed(client, status="open")) == 2
    assert feed(client, start_date="2001-01-01T00:00:00Z", end_date="2001-02-01T00:00:00Z") == []
    first = everything[0]["service_request_id"]
    assert len(feed(client, service_request_id=f"{first},ffffffffffffffff")) == 1
    text = client.get(f"{API}/requests.xml").get_data(as_text=True)
    for secret in (alice.openid, "13812345678", "138****5678", "3栋2单元"):
        assert secret not in text and secret not in str(everything)
    assert client.get(f"{API}/requests/BS000001.json").status_code == 404  # codes are not ids


def test_private_matters_never_appear_and_published_text_is_masked(client, chat, uow):
    alice = chat.registered("alice", mobile="13812345678")
    private = file_report(alice, description="和楼上邻居吵架，电话13812345678", where="跳过")
    public = file_report(alice, description="3栋路灯坏了，王师傅说要报修，联系13912345678", where="3栋")
    shown = feed(client)
    assert len(shown) == 1 and shown[0]["service_code"] == "facilities"
    assert shown[0]["address"] == "3栋" and shown[0]["description"] is None
    staff = Actor.cli("test")
    report = uow.session.scalar(select(Report).where(Report.code == public))
    lifecycle.set_published(uow, staff, report, True)
    with pytest.raises(Exception, match="私事"):
        lifecycle.set_published(uow, staff, uow.session.scalar(select(Report).where(Report.code == private)), True)
    [published] = feed(client)
    assert "路灯坏了" in published["description"] and "13912345678" not in published["description"]
    assert "139****5678" in published["description"] and "王师傅" not in published["description"]


def test_control_characters_never_break_the_xml(client, chat, uow):
    # stored before the rule (or by any other path): still never breaks the feed
    alice = chat.registered("alice")
    report = lifecycle.file(uow, resident=alice.resident, community_id=alice.resident.community_id,
                            building_id=alice.resident.building_id, category_code="facilities",
                            description="路灯\x01坏了\x0b好几天\x1f", address=None, lat=None,
                            lng=None, photos=[], source="wechat")
    lifecycle.set_published(uow, Actor.cli("test"), report, True)
    post(client, description="河边\x07垃圾")
    root = ET.fromstring(client.get(f"{API}/requests.xml").data)  # well-formed for every client
    descriptions = [r.findtext("description") for r in root.findall("request")]
    assert any(d and "路灯坏了好几天" in d for d in descriptions)
