"""Console security: the access matrix (every route × every kind of account), CSRF on
every POST, escaping of resident text, login lock-out and rate limit, cookie flags, sessions
that end, and bad ids or bytes answered 4xx (fast tier: the app's test client)."""
from __future__ import annotations

import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from domain.deliberation import topics
from linli.app import create_app
from models import Account, Broadcast, Report, ReportPhoto, StaffUser
from tests.console_helpers import (
    ACCOUNTS,
    PASSWORD,
    Console,
    add_accounts,
    add_accounts_to,
)
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
    ("POST", "/console/reports/{code}/publish", WRITE, True),
    ("POST", "/console/reports/{code}/send-back", WORK, True),
    ("POST", "/console/reports/{code}/supervise", WRITE, True),
    ("POST", "/console/reports/{code}/answer", WORK, True),
    ("POST", "/console/reports/{code}/agenda", WRITE, True),
    ("POST", "/console/reports/{code}/topic", WRITE, True),
    ("GET", "/console/topics", READ, False),
    ("POST", "/console/topics/focal", WRITE, False),
    ("GET", "/console/topics/{topic}", READ, True),
    ("POST", "/console/topics/{topic}/opinions", WRITE, True),
    ("POST", "/console/topics/{topic}/decline", WRITE, True),
    ("POST", "/console/topics/{topic}/schedule", WRITE, True),
    ("POST", "/console/topics/{topic}/decide", WRITE, True),
    ("POST", "/console/topics/{topic}/publicise", WRITE, True),
    ("POST", "/console/topics/items/999999", WRITE, False),
    ("POST", "/console/topics/{topic}/invite", WRITE, True),
    ("POST", "/console/topics/{topic}/vote", WRITE, True),
    ("GET", "/console/oversight/supervisions", EVERYONE, False),
    ("GET", "/console/oversight/visits", READ, False),
    ("POST", "/console/oversight/visits/999999", WRITE, False),
    ("GET", "/console/chats", WRITE, False),
    ("GET", "/console/chats/{handoff}", WRITE, True),
    ("POST", "/console/chats/{handoff}/answer", WRITE, True),
    ("POST", "/console/chats/{handoff}/close", WRITE, True),
    ("GET", "/console/outbox", READ, False),
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
    ("POST", "/console/timebank/family/999999", WRITE, False),
    ("GET", "/console/residents", WRITE, False),
    ("GET", "/console/residents/{resident}", WRITE, True),
    ("POST", "/console/residents/{resident}/roles", WRITE, True),
    ("POST", "/console/residents/{resident}/name", WRITE, True),
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
def accounts(fast_db):
    return add_accounts_to(fast_db)


@pytest.fixture
def world(chat, uow, fast_db, accounts, tmp_path):
    """One of everything in 金宁 (grid 1), plus the five console accounts."""
    alice = chat.registered("alice", "13800000001")
    code = file_report(alice)  # 3栋: 金宁第一网格
    meeting = make_meeting(uow)
    report = fast_db.scalar(select(Report).where(Report.code == code))
    photo = ReportPhoto(report_id=report.id, media_id="m1", purpose="report",
                        stored_path=str(tmp_path / "none.jpg"), content_type="image/jpeg",
                        created_at=uow.now)
    fast_db.add(photo)
    resident = alice.resident
    account = Account(owner_id=resident.id, community_id=resident.community_id, balance=0,
                      earned_total=0, leaderboard_opt_out=False, created_at=uow.now)
    fast_db.add(account)
    fast_db.flush()
    broadcast = fast_db.scalar(select(Broadcast.id).order_by(Broadcast.id.desc()))
    alice.say("人工")
    handoff = alice.resident.handoff_id
    topic = topics.propose(uow, alice.resident, "3栋想加装电梯，请社区组织商量")
    return {"code": code, "meeting": meeting, "photo": photo.id, "broadcast": broadcast,
            "account": account.id, "resident": resident.id, "community": resident.community_id,
            "other_user": accounts["t-other"], "handoff": handoff, "topic": topic.id}


def expected(role: str | None, allowed: set, scoped: bool, method: str) -> set[int]:
    if role is None:
        return {302}  # to the login page
    if role not in allowed:
        return {403}
    if scoped and role == "t-other":
        return {404}
    return {200, 302, 400} if method == "POST" else {200}


def test_every_route_allows_and_denies_as_the_role_says(world, app):
    problems = []
    for role in [None, "t-viewer", "t-grid", "t-other", "t-staff", "t-admin"]:
        console = Console(app.test_client())
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


def test_the_matrix_covers_every_console_route(app, world):
    """A new page cannot slip past the access matrix: every /console endpoint is listed."""
    urls = app.url_map.bind("localhost")
    covered = {(method, urls.match(path.format(**world).split("?")[0], method)[0])
               for method, path, _, _ in ROUTES}
    missing = [f"{method} {rule.rule}" for rule in app.url_map.iter_rules()
               if rule.rule.startswith("/console") and not rule.endpoint.startswith("console_assets")
               and rule.endpoint not in ("dashboard.home", "auth.login", "auth.logout")
               for method in rule.methods - {"HEAD", "OPTIONS"}
               if (method, rule.endpoint) not in covered]
    assert missing == []


def test_grid_workers_see_only_their_own_grid(world, chat, client):
    bob = chat.registered("bob", address="5栋")
    other = file_report(bob, where="5栋门口")  # 5栋: 金宁第二网格
    console = Console(client)
    console.login("t-grid")
    listing = console.get("/console/reports?status=all").text
    assert world["code"] in listing and other not in listing
    assert console.get(f"/console/reports/{other}").status_code == 404
    assert console.post(f"/console/reports/{other}/accept").status_code == 404
    assert console.get(f"/console/reports/{world['code']}").status_code == 200


def test_every_post_without_a_valid_csrf_token_is_refused(world, client, fast_db):
    db = fast_db
    console = Console(client)
    console.login("t-admin")
    for template in POSTS:
        path = template.format(**world)
        assert console.post(path, {"note": "x"}, csrf=False).status_code == 400, path
        bad = console.post(path, {"note": "x", "csrf_token": "forged"}, csrf=False)
        assert bad.status_code == 400 and "刷新页面" in bad.text, path
    db.expire_all()
    report = db.scalar(select(Report).where(Report.code == world["code"]))
    assert report.status.value == "submitted" and len(report.events) == 0 or \
        all(e.actor != "t-admin" for e in report.events)


XSS = '<script>alert(1)</script><img src=x onerror=alert(2)>'


def test_resident_text_is_escaped_everywhere(chat, accounts, client, fast_db):
    mallory = chat.registered("mallory")
    code = file_report(mallory, description=f"楼道灯坏了{XSS}", where=f"3栋{XSS}"[:30])
    resident = mallory.resident
    resident.name = XSS[:32]
    fast_db.flush()
    console = Console(client)
    console.login("t-admin")
    for path in (f"/console/reports/{code}", "/console/reports", f"/console/residents/{resident.id}",
                 "/console/residents"):
        page = console.get(path).text
        assert "<script>alert(1)" not in page and "<img src=x" not in page, path
        assert "&lt;script&gt;" in page, path


def test_login_locks_out_after_repeated_failures(accounts, app, fast_db, clock):
    console = Console(app.test_client())
    for _ in range(5):
        assert console.login("t-staff", "wrong-password").status_code == 401
    locked = console.login("t-staff")  # the right password, too late
    assert locked.status_code == 403 and "锁定" in locked.text
    fast_db.expire_all()
    user = fast_db.scalar(select(StaffUser).where(StaffUser.username == "t-staff"))
    assert user.locked_until > clock.now() + timedelta(minutes=14)
    # An admin unlocks the account from the console; the person can sign in again.
    admin = Console(app.test_client())
    admin.login("t-admin")
    admin.post(f"/console/admin/accounts/{user.id}", {"action": "unlock"})
    assert console.login("t-staff").status_code == 302
    assert "用户名或密码不正确" in console.login("nobody", "x").text


def test_unknown_user_and_wrong_password_answer_alike(accounts, client):
    console = Console(client)
    unknown, wrong = console.login("nobody", "whatever-pass"), console.login("t-staff", "nope-nope")
    assert unknown.status_code == wrong.status_code == 401
    assert "用户名或密码不正确" in unknown.text and "用户名或密码不正确" in wrong.text


def test_login_attempts_are_rate_limited_per_address(config):
    limited = config.with_overrides({"console": {"login_rate": "3 per minute"}})
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
        cfg = config.with_overrides({"console": {"secure_cookies": secure}})
        client = create_app(cfg).test_client()
        token = re.search(r'name="csrf-token" content="([^"]+)"',
                          client.get("/console/login").text).group(1)
        response = client.post("/console/login", data={"username": "t-admin", "password": PASSWORD,
                                                       "csrf_token": token})
        cookie = response.headers["Set-Cookie"]
        assert "HttpOnly" in cookie and "SameSite=Lax" in cookie
        assert ("Secure" in cookie) is secure


@pytest.mark.parametrize("target", ["https://evil.example/x", "//evil.example/x",
                                    "/console%0d%0aSet-Cookie:%20x=1", "/console/../../etc",
                                    "/console\r\nLocation: https://evil.example"])
def test_login_never_redirects_off_site(accounts, client, target):
    console = Console(client)
    response = console.post(f"/console/login?next={target}",
                            {"username": "t-admin", "password": PASSWORD})
    assert response.status_code == 302
    location = response.headers["Location"]
    assert location.startswith("/console") and "evil" not in location and "\n" not in location


def test_logout_ends_the_session_even_for_a_copied_cookie(accounts, app, fast_db):
    browser = Console(app.test_client())
    browser.login("t-staff")
    assert browser.get("/console/dashboard").status_code == 200
    copied = app.test_client()
    cookie = browser.http.get_cookie("session")
    copied.set_cookie("session", cookie.value)
    assert copied.get("/console/dashboard").status_code == 200
    browser.post("/console/logout")
    assert copied.get("/console/dashboard").status_code == 302  # to the login page


@pytest.mark.parametrize("change", ["password", "deactivate"])
def test_password_change_and_deactivation_end_sessions(accounts, app, change):
    staff = Console(app.test_client())
    staff.login("t-staff")
    admin = Console(app.test_client())
    admin.login("t-admin")
    if change == "password":
        admin.post("/console/admin/accounts", {"username": "t-staff", "password": "a-new-password-1",
                                               "role": "staff", "community": "0"})
        admin.post("/console/admin/accounts", {
            "username": "t-staff", "password": "a-new-password-1", "role": "staff",
            "community": str(_community(app, "金宁社区"))})
    else:
        admin.post(f"/console/admin/accounts/{accounts['t-staff']}", {"action": "toggle"})
    assert staff.get("/console/dashboard").status_code == 302


def _community(app, name):
    from models import Community

    with app.extensions["linli.test_sessions"]() as session:
        return session.scalar(select(Community.id).where(Community.name == name))


BIG = "99999999999999999999"


@pytest.mark.parametrize("path", [
    f"/console/meetings/{BIG}", f"/console/residents/{BIG}", f"/console/timebank/accounts/{BIG}",
    f"/console/broadcasts/{BIG}", f"/console/broadcasts/{BIG}/progress",
    f"/console/reports?page={BIG}", f"/console/dashboard?community={BIG}",
    f"/console/reports?grid={BIG}", f"/console/meetings?page={BIG}", "/console/residents?page=-5",
    f"/console/exports/reports.xlsx?month=2026-11&community={BIG}",
    "/console/reports?q=a%00b", "/console/residents?q=%00", f"/console/reports/{BIG}"])
def test_huge_ids_and_nul_bytes_are_4xx(accounts, client, path):
    console = Console(client)
    console.login("t-admin")
    assert console.get(path).status_code in (200, 400, 404), path


def test_nul_bytes_in_forms_are_refused_even_before_login(accounts, client, fast_db):
    console = Console(client)
    refused = console.post("/console/login", {"username": "t-admin\x00", "password": "x"})
    assert refused.status_code == 400
    console.login("t-admin")
    assert console.post("/console/meetings/new", {"title": "议事\x00会", "place": "x"}).status_code == 400
