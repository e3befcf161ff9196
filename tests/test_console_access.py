"""Console security: the access matrix (every route × every kind of account), CSRF on
every POST, escaping of resident text, login lock-out and rate limit, cookie flags."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from bot.app import create_app
from bot.config import load_config
from models import Account, Broadcast, Report, ReportPhoto, Resident, StaffUser, utcnow
from tests.console_helpers import ACCOUNTS, PASSWORD, Console, add_accounts
from tests.meeting_helpers import make_meeting
from tests.test_reports import file_report

READ, WRITE = {"t-admin", "t-staff", "t-viewer", "t-other"}, {"t-admin", "t-staff", "t-other"}
EVERYONE = set(ACCOUNTS)
WORK = {"t-admin", "t-staff", "t-grid", "t-other"}
ADMIN = {"t-admin"}

# (method, path, roles allowed, scoped to 金宁: other-community staff get 404)
ROUTES = [
    ("GET", "/console/dashboard", READ, False),
    ("GET", "/console/reports", EVERYONE, False),
    ("GET", "/console/reports/{code}", EVERYONE, True),
    ("GET", "/console/reports/photos/{photo}", EVERYONE, True),
    ("POST", "/console/reports/{code}/update", WORK, True),
    ("POST", "/console/reports/{code}/accept", WORK, True),
    ("POST", "/console/reports/{code}/assign", WORK, True),
    ("POST", "/console/reports/{code}/finish", WORK, True),
    ("POST", "/console/reports/{code}/merge", WORK, True),
    ("POST", "/console/reports/{code}/tier", WRITE, True),
    ("GET", "/console/meetings", READ, False),
    ("GET", "/console/meetings/new", WRITE, False),
    ("POST", "/console/meetings/new", WRITE, False),
    ("GET", "/console/meetings/{meeting}", READ, True),
    ("GET", "/console/meetings/{meeting}/sheet", READ, True),
    ("POST", "/console/meetings/{meeting}/edit", WRITE, True),
    ("POST", "/console/meetings/{meeting}/checkin", WRITE, True),
    ("POST", "/console/meetings/{meeting}/walk-in", WRITE, True),
    ("POST", "/console/meetings/{meeting}/proxy", WRITE, True),
    ("POST", "/console/meetings/{meeting}/close", WRITE, True),
    ("POST", "/console/meetings/{meeting}/publish", WRITE, True),
    ("POST", "/console/meetings/{meeting}/cancel", WRITE, True),
    ("GET", "/console/broadcasts", READ, False),
    ("GET", "/console/broadcasts/new", WRITE, False),
    ("GET", "/console/broadcasts/preview?audience=community&community={community}", WRITE, False),
    ("POST", "/console/broadcasts", WRITE, False),
    ("GET", "/console/broadcasts/{broadcast}", READ, True),
    ("GET", "/console/broadcasts/{broadcast}/progress", READ, True),
    ("POST", "/console/broadcasts/{broadcast}/cancel", WRITE, True),
    ("GET", "/console/timebank", READ, False),
    ("POST", "/console/timebank/records", WRITE, False),
    ("POST", "/console/timebank/pool/grant", WRITE, False),
    ("GET", "/console/timebank/accounts/{account}", READ, True),
    ("POST", "/console/timebank/accounts/{account}/adjust", WRITE, True),
    ("POST", "/console/timebank/redemptions/999999", WRITE, False),
    ("POST", "/console/timebank/applications/999999", WRITE, False),
    ("GET", "/console/residents", WRITE, False),
    ("GET", "/console/residents/{resident}", WRITE, True),
    ("POST", "/console/residents/{resident}/roles", WRITE, True),
    ("GET", "/console/exports", READ, False),
    ("GET", "/console/exports/reports.xlsx?month=2026-11&community={community}", READ, True),
    ("GET", "/console/exports/hours.csv?month=2026-11&community={community}", READ, True),
    ("GET", "/console/admin/accounts", ADMIN, False),
    ("POST", "/console/admin/accounts", ADMIN, False),
    ("POST", "/console/admin/accounts/{other_user}", ADMIN, False),
    ("GET", "/console/admin/audit", ADMIN, False),
]
POSTS = [path for method, path, _, _ in ROUTES if method == "POST"] + ["/console/logout"]


@pytest.fixture
def world(sim, registered, config, db, tmp_path):
    """One of everything in 金宁 (grid 1), plus the five console accounts."""
    ids = add_accounts(config)
    alice = registered("alice", "13800000001")
    code = file_report(alice)  # 3栋: 金宁第一网格
    meeting = make_meeting(config)
    db.rollback()
    report = db.scalar(select(Report).where(Report.code == code))
    photo = ReportPhoto(report_id=report.id, media_id="m1", purpose="report",
                        stored_path=str(tmp_path / "none.jpg"), content_type="image/jpeg")
    db.add(photo)
    resident = db.scalar(select(Resident).where(Resident.openid == alice.openid))
    account = Account(owner_id=resident.id, community_id=resident.community_id, balance=0,
                      earned_total=0, leaderboard_opt_out=False, created_at=utcnow())
    db.add(account)
    db.commit()
    broadcast = db.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()))
    return {"code": code, "meeting": meeting, "photo": photo.id, "broadcast": broadcast,
            "account": account.id, "resident": resident.id, "community": resident.community_id,
            "other_user": ids["t-other"]}


def expected(role: str | None, allowed: set, scoped: bool, method: str) -> set[int]:
    if role is None:
        return {302}  # to the login page
    if role not in allowed:
        return {403}
    if scoped and role == "t-other":
        return {404}
    return {200, 302, 400} if method == "POST" else {200}


def test_every_route_allows_and_denies_as_the_role_says(world, bot_server):
    problems = []
    for role in [None, "t-viewer", "t-grid", "t-other", "t-staff", "t-admin"]:
        console = Console(bot_server.url)
        if role:
            assert console.login(role).status_code == 302
        for method, template, allowed, scoped in ROUTES:
            path = template.format(**world)
            if method == "GET":
                got = console.get(path)
            else:
                got = console.post(path, {"note": "x"}) if role else console.post(path, csrf=False)
            if role is None and method == "POST":
                want = {302, 400}  # no session: refused by login or by CSRF, never run
            else:
                want = expected(role, allowed, scoped, method)
            # No such file / record: a permitted request still finds nothing.
            if role and ("photos" in path or "999999" in path) and (200 in want or 302 in want):
                want = {404}
            if got.status_code not in want:
                problems.append(f"{role} {method} {path}: {got.status_code}, wanted {sorted(want)}")
            if role is None and got.status_code == 302:
                assert "/console/login" in got.headers["Location"]
    assert problems == [], "\n".join(problems)


def test_grid_workers_see_only_their_own_grid(world, registered, bot_server, sim):
    bob = registered("bob")
    bob.say("取消")
    other = file_report(bob, where="5栋门口")  # 5栋: 金宁第二网格
    console = Console(bot_server.url)
    console.login("t-grid")
    listing = console.get("/console/reports?status=all").text
    assert world["code"] in listing and other not in listing
    assert console.get(f"/console/reports/{other}").status_code == 404
    assert console.post(f"/console/reports/{other}/accept").status_code == 404
    assert console.get(f"/console/reports/{world['code']}").status_code == 200


def test_every_post_without_a_valid_csrf_token_is_refused(world, bot_server, db):
    console = Console(bot_server.url)
    console.login("t-admin")
    for template in POSTS:
        path = template.format(**world)
        assert console.post(path, {"note": "x"}, csrf=False).status_code == 400, path
        bad = console.post(path, {"note": "x", "csrf_token": "forged"}, csrf=False)
        assert bad.status_code == 400 and "刷新页面" in bad.text, path
    db.rollback()
    report = db.scalar(select(Report).where(Report.code == world["code"]))
    assert report.status.value == "submitted" and len(report.events) == 0 or \
        all(e.actor != "t-admin" for e in report.events)


XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>'


def test_resident_text_is_escaped_everywhere(sim, registered, bot_server, config, db):
    add_accounts(config)
    mallory = registered("mallory")
    code = file_report(mallory, description=f"楼道灯坏了{XSS}", where=f"3栋{XSS}"[:30])
    db.rollback()
    resident = db.scalar(select(Resident).where(Resident.openid == mallory.openid))
    resident.name = XSS[:32]
    db.commit()
    console = Console(bot_server.url)
    console.login("t-admin")
    for path in (f"/console/reports/{code}", "/console/reports", f"/console/residents/{resident.id}",
                 "/console/residents"):
        page = console.get(path).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;" in page, path


def test_login_locks_out_after_repeated_failures(sim, bot_server, config, db):
    add_accounts(config)
    console = Console(bot_server.url)
    for _ in range(5):
        assert console.login("t-staff", "wrong-password").status_code == 401
    locked = console.login("t-staff")  # the right password, too late
    assert locked.status_code == 403 and "锁定" in locked.text
    db.rollback()
    user = db.scalar(select(StaffUser).where(StaffUser.username == "t-staff"))
    assert user.locked_until > utcnow() + timedelta(minutes=14)
    # An admin unlocks the account from the console; the person can sign in again.
    admin = Console(bot_server.url)
    admin.login("t-admin")
    admin.post(f"/console/admin/accounts/{user.id}", {"action": "unlock"})
    assert console.login("t-staff").status_code == 302
    assert "用户名或密码不正确" in console.login("nobody", "x").text


def test_unknown_user_and_wrong_password_answer_alike(sim, bot_server, config):
    add_accounts(config)
    console = Console(bot_server.url)
    unknown, wrong = console.login("nobody", "whatever-pass"), console.login("t-staff", "nope-nope")
    assert unknown.status_code == wrong.status_code == 401
    assert "用户名或密码不正确" in unknown.text and "用户名或密码不正确" in wrong.text


def test_login_attempts_are_rate_limited_per_address(config, sim):
    limited = load_config(overrides={**config, "console": {**config["console"],
                                                           "login_rate": "3 per minute"}}, environ={})
    client = create_app(limited).test_client()
    token = re.search(r'name="csrf-token" content="([^"]+)"',
                      client.get("/console/login").text).group(1)
    codes = [client.post("/console/login", data={"username": "x", "password": "y",
                                                  "csrf_token": token}).status_code
             for _ in range(4)]
    assert codes == [401, 401, 401, 429]


def test_session_cookie_is_httponly_samesite_and_secure_when_configured(config, sim):
    add_accounts(config)
    for secure in (False, True):
        cfg = load_config(overrides={**config, "console": {**config["console"],
                                                           "secure_cookies": secure}}, environ={})
        client = create_app(cfg).test_client()
        token = re.search(r'name="csrf-token" content="([^"]+)"',
                          client.get("/console/login").text).group(1)
        response = client.post("/console/login", data={"username": "t-admin", "password": PASSWORD,
                                                       "csrf_token": token})
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


def test_login_never_redirects_off_site(sim, bot_server, config):
    add_accounts(config)
    console = Console(bot_server.url)
    response = console.post("/console/login?next=https://evil.example/x",
                            {"username": "t-admin", "password": PASSWORD})
    assert response.headers["Location"].startswith("/console")
