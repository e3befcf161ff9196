"""Open311 GeoReport v2 over real HTTP: discovery, services, requests, create with a key."""
from __future__ import annotations

from xml.etree import ElementTree as ET

import pytest
import requests
from sqlalchemy import select

from models import Report, Status
from tests.test_reports import JINNING, file_report

KEY = "demo-open311-key"


@pytest.fixture
def api(sim, bot_server):
    return f"{bot_server.url}/open311/v2"


def post(api, fmt="json", **fields):
    data = {"api_key": KEY, "service_code": "environment", "lat": JINNING[0], "long": JINNING[1],
            "description": "河边垃圾堆积", **fields}
    return requests.post(f"{api}/requests.{fmt}", data={k: v for k, v in data.items() if v is not None})


def test_discovery_and_services(api):
    assert requests.get(f"{api}/discovery.json").json()["endpoints"][0]["formats"]
    services = requests.get(f"{api}/services.json").json()
    codes = {s["service_code"]: s for s in services}
    assert codes["facilities"]["service_name"] == "公共设施维修" and codes["dispute"]["group"]
    xml = ET.fromstring(requests.get(f"{api}/services.xml").content)
    assert len(xml.findall("service")) == len(services)
    assert requests.get(f"{api}/services.csv").status_code == 404


def test_create_enters_the_same_triage(api, db):
    r = post(api, media_url="https://example.org/photo.jpg", address_string="河边步道",
             email="someone@example.org", first_name="张")
    assert r.status_code == 200
    code = r.json()[0]["service_request_id"]
    db.rollback()
    report = db.scalar(select(Report).where(Report.code == code))
    assert report.status is Status.SUBMITTED and report.source == "open311"
    assert report.assignee_title == "金宁社区工作人员" and report.resident_id is None
    one = requests.get(f"{api}/requests/{code}.json").json()[0]
    assert one["status"] == "open" and one["media_url"] == "https://example.org/photo.jpg"
    assert one["lat"] == pytest.approx(JINNING[0]) and one["expected_datetime"]
    assert "someone@example.org" not in str(one) and "张" not in str(one)


@pytest.mark.parametrize("fields, status, reason", [
    ({"api_key": None}, 403, "api_key"),
    ({"api_key": "wrong"}, 403, "api_key"),
    ({"service_code": "unicorns"}, 400, "service_code"),
    ({"lat": "north", "long": "east"}, 400, "number"),
    ({"lat": 91, "long": 10}, 400, "out of range"),
    ({"lat": "nan"}, 400, "out of range"),
    ({"lat": 39.9, "long": 116.4}, 400, "outside every community"),
    ({"lat": None}, 400, "required"),
    ({"description": ""}, 400, "description"),
    ({"description": "长" * 501}, 400, "longer than 500"),
    ({"address_string": "址" * 129}, 400, "address_string"),
    ({"media_url": "javascript:alert(1)"}, 400, "media_url"),
    ({"media_url": "https://x.org/" + "a" * 600}, 400, "media_url"),
])
def test_bad_creates_are_refused(api, db, fields, status, reason):
    r = post(api, **fields)
    assert r.status_code == status and reason in r.json()[0]["description"]
    xml = post(api, fmt="xml", **fields)
    assert xml.status_code == status and ET.fromstring(xml.content).find("error/code").text == str(status)
    db.rollback()
    assert db.scalars(select(Report)).all() == []


def test_list_filters_and_never_shows_the_reporter(api, registered, sim):
    alice = registered("alice", mobile="13812345678")
    chat_code = file_report(alice)
    post(api)
    everything = requests.get(f"{api}/requests.json").json()
    assert {r["service_request_id"] for r in everything} >= {chat_code}
    assert len(everything) == 2
    assert [r["service_code"] for r in
            requests.get(f"{api}/requests.json", params={"service_code": "environment"}).json()] \
        == ["environment"]
    assert requests.get(f"{api}/requests.json", params={"status": "closed"}).json() == []
    assert len(requests.get(f"{api}/requests.json", params={"status": "open"}).json()) == 2
    assert requests.get(f"{api}/requests.json",
                        params={"start_date": "2001-01-01T00:00:00Z",
                                "end_date": "2001-02-01T00:00:00Z"}).json() == []
    assert len(requests.get(f"{api}/requests.json",
                            params={"service_request_id": f"{chat_code},BS999999"}).json()) == 1
    text = requests.get(f"{api}/requests.xml").text
    for secret in (alice.openid, "13812345678", "138****5678"):
        assert secret not in text and secret not in str(everything)
    assert requests.get(f"{api}/requests.json", params={"status": "maybe"}).status_code == 400
    assert requests.get(f"{api}/requests.json", params={"start_date": "yesterday"}).status_code == 400
    assert requests.get(f"{api}/requests/BS999999.json").status_code == 404
