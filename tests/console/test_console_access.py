"""Every console route x every role x own / other health centre (as the API's matrix), the audit
rows the console writes, sign-in and its cookie, and the CSRF check. In process (TestClient)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from uuid import uuid4

import pytest
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hemkoll.api import console
from hemkoll.api.console.auth import SESSION_COOKIE
from hemkoll.store import contact_requests
from hemkoll.store.connect import Conn, connect
from tests.api.conftest import Centre, World, make_alert
from tests.console.conftest import ORIGIN, Seeded, add_reminders, sign_in

ROLES = ("nurse", "clinician", "admin", "region")
ALL = frozenset(ROLES)
CARE = frozenset({"nurse", "clinician"})


def existing(conn: Conn, centre: Centre) -> dict[str, Any]:
    return {"patient": centre.patient_id, "alert": centre.alert_id, "centre": centre.id}


def fresh_reminders(conn: Conn, centre: Centre) -> dict[str, Any]:
    rules = (f"m_{uuid4().hex[:8]}", f"m_{uuid4().hex[:8]}")
    add_reminders(conn, centre.patient_id, opened_at=datetime.now(UTC), rule_ids=rules)
    return existing(conn, centre)


def fresh_alert(conn: Conn, centre: Centre) -> dict[str, Any]:
    alert = make_alert(conn, centre.patient_id, "yellow", rule_id=f"r_{uuid4().hex[:8]}")
    return {**existing(conn, centre), "alert": alert}


def fresh_request(conn: Conn, centre: Centre) -> dict[str, Any]:
    request = contact_requests.add(conn, centre.patient_id, reason=None, worry=2)
    return {**existing(conn, centre), "request": request}


@dataclass(frozen=True)
class Case:
    method: str
    path: str
    roles: frozenset[str]
    ok: int = 200
    scoped: bool = True
    target: Callable[[Conn, Centre], dict[str, Any]] = existing
    form: dict[str, str] | None = None
    # The answer for own and other where it is not the rule's (ok, or 404 for another's).
    expect: dict[str, int] | None = None

    @property
    def id(self) -> str:
        return f"{self.method} {self.path}"


PREVIEW = {"rule": "weight_gain_3d", "enabled": "on", "window_days": "3", "yellow": "1,5"}
CASES = [
    Case("GET", "/console/", ALL, 303, scoped=False),
    Case("GET", "/console/worklist", CARE, scoped=False),
    Case("GET", "/console/worklist/rows", CARE, scoped=False),
    Case("GET", "/console/patients", CARE, scoped=False),
    Case("GET", "/console/patients/{patient}", CARE),
    Case("GET", "/console/patients/{patient}/thresholds", CARE),
    Case(
        "POST",
        "/console/patients/{patient}/contacts",
        CARE,
        303,
        form={"kind": "call_out", "date": "2020-01-05", "time": "09:30", "text": "Ringde."},
    ),
    Case("GET", "/console/patients/{patient}/summary", CARE),
    Case(
        "POST",
        "/console/patients/{patient}/thresholds/preview",
        frozenset({"clinician"}),
        form=PREVIEW,
    ),
    Case(
        "POST",
        "/console/patients/{patient}/thresholds",
        frozenset({"clinician"}),
        303,
        form={**PREVIEW, "reason": "weight gain last week"},
    ),
    Case("POST", "/console/alerts/{alert}/acknowledge", CARE, target=fresh_alert, form={}),
    Case("POST", "/console/alerts/{alert}/assign", CARE, target=fresh_alert, form={"to": "me"}),
    Case(
        "POST",
        "/console/alerts/{alert}/resolve",
        CARE,
        target=fresh_alert,
        form={"outcome": "false_alarm", "note": "scale moved"},
    ),
    Case("GET", "/console/follow-up?centre={centre}", ALL),
    Case("GET", "/console/access-review", frozenset({"admin", "region"}), scoped=False),
    Case(
        "POST",
        "/console/access-review",
        frozenset({"admin", "region"}),
        303,
        scoped=False,
        form={"kind": "random", "finding": "no_remark"},
    ),
    Case(
        "POST",
        "/console/patients/{patient}/reminders/acknowledge",
        CARE,
        target=fresh_reminders,
        form={},
    ),
    Case("POST", "/console/patients/{patient}/patient-code", CARE, form={}),
    Case("POST", "/console/patients/{patient}/messages", CARE, 303, form={"body": "Hej Monika"}),
    Case(
        "POST",
        "/console/patients/{patient}/contact-requests/{request}/seen",
        CARE,
        303,
        target=fresh_request,
        form={},
    ),
    # Emergency access: for a patient the caller does not see (another centre's), not one
    # she sees already (409); docs/access.md.
    Case(
        "POST",
        "/console/patients/{patient}/emergency-access",
        CARE,
        303,
        form={"reason": "she called us, her own centre is closed"},
        expect={"own": 409, "other": 303},
    ),
]
# Routes anyone may call (signing in and out, the language): tested on their own below.
OPEN_ROUTES = {
    "GET /console/sign-in",
    "POST /console/sign-in",
    "POST /console/sign-out",
    "POST /console/language",
    # The identity provider's sign-in (tests/oidc/test_sign_in.py).
    "GET /console/oidc/start",
    "GET /console/oidc/callback",
}


def token(world: World, role: str) -> str:
    return world.region_admin if role == "region" else world.a.tokens[role]


def call(client: TestClient, method: str, path: str, token: str | None, **kw: Any) -> Any:
    headers = {"Origin": ORIGIN, **kw.pop("headers", {})}
    if token is not None:
        headers["Cookie"] = f"{SESSION_COOKIE}={token}"
    return client.request(method, path, headers=headers, follow_redirects=False, **kw)


def test_the_matrix_covers_every_console_route() -> None:
    routes = {
        f"{method} {route.path}"
        for router in console.ROUTERS
        for route in router.routes
        if isinstance(route, APIRoute)
        for method in route.methods
    }
    cases = {
        f"{c.method} "
        + c.path.split("?")[0]
        .replace("{patient}", "{patient_id}")
        .replace("{alert}", "{alert_id}")
        .replace("{request}/seen", "{request_id}/{state}")
        for c in CASES
    }
    assert routes == cases | OPEN_ROUTES


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
def test_console_route_by_role_and_centre(
    case: Case, client: TestClient, world: World, db_url: str
) -> None:
    outcomes = {}
    for role in ROLES:
        for other in (False, True):
            with connect(db_url) as conn, conn.transaction():
                target = case.target(conn, world.b if other else world.a)
            path = case.path.format(**{k: str(v) for k, v in target.items()})
            answer = call(client, case.method, path, token(world, role), data=case.form)
            if role not in case.roles:
                want = 403
            elif case.expect is not None:
                want = case.expect["other" if other else "own"]
            elif other and case.scoped and role != "region":
                want = 404
            else:
                want = case.ok
            outcomes[(role, "other" if other else "own")] = (answer.status_code, want)
            if answer.status_code >= 400:
                assert answer.headers["content-type"].startswith("text/html")
    wrong = {k: v for k, v in outcomes.items() if v[0] != v[1]}
    assert not wrong, f"(got, expected) per (role, centre): {wrong}"


def _audit(db_url: str, action: str) -> list[tuple[Any, ...]]:
    with connect(db_url) as conn:
        return conn.execute(
            "SELECT status, role, object_type, object_id, patient_id, host(client_address) "
            "FROM audit_log WHERE action = %s ORDER BY id",
            (action,),
        ).fetchall()


def test_the_patient_page_records_what_it_shows(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    page = call(client, "GET", f"/console/patients/{a.patient_id}?days=7", a.tokens["nurse"])
    assert page.status_code == 200
    rows = _audit(db_url, "GET /console/patients/{patient_id}")
    assert {(r[0], r[1], r[4]) for r in rows} == {(200, "nurse", a.patient_id)}
    # What matters to her (issue 15) is shown beside the alert, and recorded.
    assert {r[2] for r in rows} == {
        "readings",
        "thresholds",
        "alert",
        "contact_log",
        "patient_goals",
    }
    shown_alerts = {r[3] for r in rows if r[2] == "alert"}
    assert {str(a.alert_id), str(seeded.trend_alert)} <= shown_alerts
    assert rows[0][5] == "203.0.113.7"
    # Refused: another centre's patient (404) and a role without access (403), both recorded.
    other = seeded.world.b.patient_id
    assert call(client, "GET", f"/console/patients/{other}", a.tokens["nurse"]).status_code == 404
    assert call(client, "GET", f"/console/patients/{other}", a.tokens["admin"]).status_code == 403
    statuses = [r[0] for r in _audit(db_url, "GET /console/patients/{patient_id}")]
    assert statuses[-2:] == [404, 403]


def test_sign_in_sets_a_strict_http_only_cookie_and_sign_out_clears_it(
    client: TestClient, world: World, db_url: str
) -> None:
    nurse = world.a.tokens["nurse"]
    answer = client.post(
        "/console/sign-in",
        data={"token": nurse, "next": "/console/patients"},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == "/console/patients"
    assert nurse not in answer.headers["location"]
    cookie = answer.headers["set-cookie"]
    assert cookie.startswith(f"{SESSION_COOKIE}={nurse};")
    for flag in ("HttpOnly", "SameSite=strict", "Path=/console"):
        assert flag.lower() in cookie.lower()
    assert "secure" not in cookie.lower()  # http here; https sets Secure (below)
    assert "max-age" not in cookie.lower()  # a session cookie: gone with the browser
    assert _audit(db_url, "POST /console/sign-in")[-1][:2] == (303, "nurse")
    assert client.get("/console/patients").status_code == 200
    out = client.post("/console/sign-out", headers={"Origin": ORIGIN}, follow_redirects=False)
    assert out.status_code == 303
    assert "max-age=0" in out.headers["set-cookie"].lower()
    client.cookies.clear()
    assert client.get("/console/patients", follow_redirects=False).status_code == 303


def test_the_cookie_is_secure_over_https(client: TestClient, world: World) -> None:
    answer = client.post(
        "https://testserver/console/sign-in",
        data={"token": world.a.tokens["nurse"]},
        headers={"Origin": "https://testserver"},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert "secure" in answer.headers["set-cookie"].lower()


def test_a_wrong_token_is_refused_and_recorded(client: TestClient, db_url: str) -> None:
    answer = call(client, "POST", "/console/sign-in", None, data={"token": "hk_wrong"})
    assert answer.status_code == 401
    assert "set-cookie" not in answer.headers
    assert "känns inte igen" in answer.text
    assert _audit(db_url, "POST /console/sign-in")[-1][:2] == (401, None)


def test_signed_out_pages_go_to_sign_in_and_htmx_is_told_to(client: TestClient) -> None:
    page = client.get("/console/worklist?x=1", follow_redirects=False)
    assert page.status_code == 303
    assert page.headers["location"] == "/console/sign-in?next=/console/worklist%3Fx%3D1"
    fragment = client.get("/console/worklist/rows", headers={"HX-Request": "true"})
    assert fragment.status_code == 401
    assert fragment.headers["hx-redirect"].startswith("/console/sign-in?next=")


@pytest.mark.parametrize(
    "headers",
    [
        {},
        {"Origin": "https://evil.example"},
        {"Origin": "null"},
        {"Referer": "https://evil.example/x"},
    ],
    ids=["none", "other-origin", "null-origin", "other-referer"],
)
def test_a_post_from_elsewhere_is_refused(
    client: TestClient, seeded: Seeded, db_url: str, headers: dict[str, str]
) -> None:
    alert = seeded.trend_alert
    nurse = {"Cookie": f"{SESSION_COOKIE}={seeded.world.a.tokens['nurse']}", **headers}
    answer = client.post(f"/console/alerts/{alert}/acknowledge", headers=nurse)
    assert answer.status_code == 403
    assert "Inte tillåtet" in answer.text
    assert _audit(db_url, "POST /console/alerts/{alert_id}/acknowledge")[-1][:2] == (403, "nurse")
    with connect(db_url) as conn:
        state = conn.execute("SELECT state FROM alerts WHERE id = %s", (alert,)).fetchone()
    assert state == ("open",)
    # Signing in from elsewhere (login CSRF) is refused too.
    forged = client.post("/console/sign-in", data={"token": "x"}, headers=headers)
    assert forged.status_code == 403


def test_a_same_origin_referer_is_enough(client: TestClient, seeded: Seeded) -> None:
    nurse = seeded.world.a.tokens["nurse"]
    answer = client.post(
        f"/console/alerts/{seeded.trend_alert}/acknowledge",
        headers={"Cookie": f"{SESSION_COOKIE}={nurse}", "Referer": f"{ORIGIN}/console/worklist"},
    )
    assert answer.status_code == 200


def test_a_conflict_is_a_friendly_message(client: TestClient, seeded: Seeded) -> None:
    sign_in(client, seeded.world.a.tokens["nurse"])
    path = f"/console/alerts/{seeded.trend_alert}/acknowledge"
    htmx = {"Origin": ORIGIN, "HX-Request": "true"}
    first = client.post(path, headers=htmx)
    assert first.status_code == 200
    assert 'hx-swap-oob="innerHTML"' in first.text
    assert "Larmet för PA-0001 är kvitterat." in first.text
    again = client.post(path, headers=htmx)
    assert again.status_code == 409
    assert again.headers["hx-retarget"] == "#messages"
    assert again.headers["hx-trigger"] == "refresh-worklist"
    assert "Någon annan hann före" in again.text
    page = client.post(path, headers={"Origin": ORIGIN})
    assert page.status_code == 409
    assert "<h1>Någon annan hann före</h1>" in page.text


def test_resolving_needs_a_known_outcome(client: TestClient, seeded: Seeded) -> None:
    sign_in(client, seeded.world.a.tokens["nurse"])
    path = f"/console/alerts/{seeded.trend_alert}/resolve"
    answer = client.post(path, data={"outcome": "magic"}, headers={"Origin": ORIGIN})
    assert answer.status_code == 422
    assert "outcome" in answer.text


def test_pages_carry_the_security_headers(client: TestClient, world: World) -> None:
    sign_in(client, world.a.tokens["nurse"])
    for path in (
        "/console/worklist",
        "/console/sign-in",
        "/console/nowhere-but-signed-in/../worklist",
    ):
        answer = client.get(path)
        assert "script-src 'self'" in answer.headers["content-security-policy"]
        assert "frame-ancestors 'none'" in answer.headers["content-security-policy"]
        assert answer.headers["cache-control"] == "no-store"
        assert answer.headers["x-content-type-options"] == "nosniff"


def test_the_console_is_not_in_the_api_description(client: TestClient) -> None:
    paths = client.get("/openapi.json").json()["paths"]
    assert not [p for p in paths if p.startswith("/console")]


def test_a_patient_not_found_offers_emergency_access_and_it_opens_her_page(
    client: TestClient, world: World, db_url: str
) -> None:
    """The same form for another centre's patient and for one who does not exist; a reason
    under ten characters is refused; a reason opens her page for this nurse."""
    nurse = world.a.tokens["nurse"]
    other = world.b.patient_id
    for pid in (other, uuid4()):
        page = call(client, "GET", f"/console/patients/{pid}", nurse)
        assert page.status_code == 404
        assert f'action="/console/patients/{pid}/emergency-access"' in page.text
    path = f"/console/patients/{other}/emergency-access"
    assert call(client, "POST", path, nurse, data={"reason": "short"}).status_code == 422
    done = call(client, "POST", path, nurse, data={"reason": "she called us in distress"})
    assert done.status_code == 303
    assert done.headers["location"] == f"/console/patients/{other}"
    assert call(client, "GET", f"/console/patients/{other}", nurse).status_code == 200
    statuses = [
        r[0] for r in _audit(db_url, "POST /console/patients/{patient_id}/emergency-access")
    ]
    assert statuses == [422, 303]
