"""Staff sign in to the console through a real OpenID Connect provider (tests/oidc/provider.mjs):
the HSA claims choose the member of staff and her care unit; every other case is a refusal
page and an audit row; the console session acts as a token does, expires and is revoked."""

from __future__ import annotations

from typing import Any
from uuid import UUID

import httpx
import psycopg
import pytest

from tests.oidc import accounts
from tests.oidc.conftest import OidcWorld, login_at_provider, sign_in

CALLBACK_ACTION = "GET /console/oidc/callback"


def rows(db_url: str, sql: str, *params: object) -> list[tuple[Any, ...]]:
    with psycopg.connect(db_url) as conn:
        return conn.execute(sql, params).fetchall()  # type: ignore[arg-type]


def client() -> httpx.Client:
    return httpx.Client(follow_redirects=True, timeout=30.0)


def test_a_nurse_signs_in_under_her_units_assignment_and_sees_its_worklist(
    oidc_world: OidcWorld,
) -> None:
    w = oidc_world.world
    with client() as http:
        landed = sign_in(http, oidc_world.base, "nurse-a")
        assert landed.status_code == 200
        assert landed.url.path == "/console/oidc/callback"
        assert 'http-equiv="refresh" content="0;url=/console/worklist"' in landed.text
        worklist = http.get(f"{oidc_world.base}/console/worklist")
        assert worklist.status_code == 200
        assert "PA-0001" in worklist.text  # her centre's patient
        assert "PB-0001" not in worklist.text  # not the other centre's
        # Another centre's patient is as absent as one that does not exist.
        other = http.get(f"{oidc_world.base}/console/patients/{w.b.patient_id}")
        assert other.status_code == 404
    nurse = w.a.staff_ids["nurse"]
    (session,) = rows(
        oidc_world.db_url,
        "SELECT id, health_centre_id, purpose, assignment_hsa_id FROM staff_sessions "
        "WHERE staff_id = %s ORDER BY created_at DESC LIMIT 1",
        nurse,
    )
    assert session[1:] == (w.a.id, accounts.CARE, "SE2321000016-C011")
    # The sign-in is audited as the session's first access, the worklist like a token's.
    assert rows(
        oidc_world.db_url,
        "SELECT staff_id, role, health_centre_id, status FROM audit_log "
        "WHERE action = %s AND object_id = %s",
        CALLBACK_ACTION,
        str(session[0]),
    ) == [(nurse, "nurse", w.a.id, 200)]
    assert rows(
        oidc_world.db_url,
        "SELECT count(*) FROM audit_log WHERE staff_id = %s AND action = 'GET /console/worklist'",
        nurse,
    ) == [(1,)]


@pytest.mark.parametrize(
    ("login", "reason", "text", "who"),
    [
        ("stranger", "unknown_person", "Du finns inte som användare", None),
        ("no-hsa-id", "unknown_person", "Du finns inte som användare", None),
        ("nurse-b-elsewhere", "no_assignment", "inget medarbetaruppdrag", "b-nurse"),
        ("clinician-a-statistics", "purpose", "inte syftet vård och behandling", "a-clinician"),
    ],
)
def test_a_sign_in_without_a_known_person_assignment_or_care_purpose_is_refused_and_recorded(
    oidc_world: OidcWorld, login: str, reason: str, text: str, who: str | None
) -> None:
    w = oidc_world.world
    staff_id: UUID | None = None
    if who is not None:
        centre, role = who.split("-")
        staff_id = (w.a if centre == "a" else w.b).staff_ids[role]
    with client() as http:
        page = sign_in(http, oidc_world.base, login)
        assert page.status_code == 403
        assert text in page.text
        assert "Försöket har loggats" in page.text
        # No session: the console still asks for a sign-in.
        assert http.get(f"{oidc_world.base}/console/worklist").url.path == "/console/sign-in"
    recorded = rows(
        oidc_world.db_url,
        "SELECT staff_id, status FROM audit_log WHERE action = %s AND reason LIKE %s",
        CALLBACK_ACTION,
        f"oidc sign-in refused ({reason})%",
    )
    assert (staff_id, 403) in recorded
    if staff_id is not None:
        assert rows(
            oidc_world.db_url, "SELECT count(*) FROM staff_sessions WHERE staff_id = %s", staff_id
        ) == [(0,)]


def test_a_callback_is_taken_once_and_only_in_the_browser_that_started_it(
    oidc_world: OidcWorld,
) -> None:
    with httpx.Client(follow_redirects=False, timeout=30.0) as http:
        response = http.get(f"{oidc_world.base}/console/oidc/start")
        while not response.headers["location"].startswith(f"{oidc_world.base}/console/"):
            location = response.url.join(response.headers["location"])
            response = http.get(location) if response.status_code != 200 else response
            if response.status_code == 200:
                response = login_at_provider(http, response, "nurse-a")
        callback = response.headers["location"]
        # Another browser (no state cookie) with the same answer: refused.
        with httpx.Client(timeout=30.0) as other:
            stolen = other.get(callback)
        assert stolen.status_code == 422
        assert "startades inte här" in stolen.text
        assert http.get(callback).status_code == 200  # the browser that started it
        again = http.get(callback)  # the same answer twice: the sign-in is used up
        assert again.status_code == 422


def test_the_session_expires_and_is_revoked_at_sign_out_and_by_an_administrator(
    oidc_world: OidcWorld,
) -> None:
    w, base, db = oidc_world.world, oidc_world.base, oidc_world.db_url
    nurse = w.a.staff_ids["nurse"]
    origin = {"Origin": base}

    def latest_session() -> UUID:
        return rows(
            db,
            "SELECT id FROM staff_sessions WHERE staff_id = %s ORDER BY created_at DESC LIMIT 1",
            nurse,
        )[0][0]

    # Expiry.
    with client() as http:
        sign_in(http, base, "nurse-a")
        assert http.get(f"{base}/console/worklist").status_code == 200
        with psycopg.connect(db) as conn:
            conn.execute(
                "UPDATE staff_sessions SET created_at = now() - interval '11 hours', "
                "expires_at = now() - interval '1 hour' WHERE id = %s",
                (latest_session(),),
            )
        assert http.get(f"{base}/console/worklist").url.path == "/console/sign-in"
    # Sign-out revokes the session itself, not only the browser's cookie.
    with client() as http:
        sign_in(http, base, "nurse-a")
        cookie = http.cookies.get("hemkoll_console")
        assert cookie is not None
        assert cookie.startswith("hs_")
        http.post(f"{base}/console/sign-out", headers=origin)
        with httpx.Client(timeout=30.0, cookies={"hemkoll_console": cookie}) as replay:
            assert replay.get(f"{base}/console/worklist").status_code in {303, 401}
    # The administrator's "revoke every token" ends her console sessions too.
    with client() as http:
        sign_in(http, base, "nurse-a")
        revoked = httpx.delete(
            f"{base}/api/v1/staff/{nurse}/tokens",
            headers={"Authorization": f"Bearer {w.region_admin}"},
        )
        assert revoked.status_code == 200
        assert revoked.json()["revoked"] >= 1
        assert http.get(f"{base}/console/worklist").url.path == "/console/sign-in"
    # The session token is the console's, not a bearer token for the API.
    with client() as http:
        sign_in(http, base, "nurse-a")
        cookie = http.cookies.get("hemkoll_console") or ""
        api = httpx.get(f"{base}/api/v1/alerts", headers={"Authorization": f"Bearer {cookie}"})
        assert api.status_code == 401


def test_with_a_provider_the_console_takes_no_pasted_token(oidc_world: OidcWorld) -> None:
    w, base = oidc_world.world, oidc_world.base  # (the nurse's tokens may be revoked by now)
    with httpx.Client(timeout=30.0) as http:
        page = http.get(f"{base}/console/sign-in")
        assert "/console/oidc/start" in page.text
        assert 'name="token"' not in page.text
        pasted = http.post(
            f"{base}/console/sign-in",
            data={"token": w.a.tokens["clinician"]},
            headers={"Origin": base},
        )
        assert pasted.status_code == 403
        assert "hemkoll_console" not in pasted.cookies
    # A cookie holding an API token is not a console session either.
    with httpx.Client(timeout=30.0, cookies={"hemkoll_console": w.a.tokens["clinician"]}) as http:
        assert http.get(f"{base}/console/worklist").status_code in {303, 401}
    # Bearer tokens remain for machines and scripts.
    api = httpx.get(
        f"{base}/api/v1/alerts", headers={"Authorization": f"Bearer {w.a.tokens['clinician']}"}
    )
    assert api.status_code == 200


def test_a_region_administrator_keeps_the_regions_scope_and_reviews_the_log(
    oidc_world: OidcWorld,
) -> None:
    w = oidc_world.world
    with client() as http:
        page = http.get(f"{oidc_world.base}/console/oidc/start")
        landed = login_at_provider(http, page, "region-admin")
        assert landed.status_code == 200
        assert 'content="0;url=/console/follow-up"' in landed.text
        review = http.get(f"{oidc_world.base}/console/access-review", params={"kind": "random"})
        assert review.status_code == 200
    assert rows(
        oidc_world.db_url,
        "SELECT health_centre_id FROM staff_sessions WHERE staff_id = %s",
        w.region_admin_id,
    ) == [(None,)]


def test_an_administrator_adds_a_member_by_her_hsa_id_and_she_can_sign_in(
    oidc_world: OidcWorld,
) -> None:
    w, base = oidc_world.world, oidc_world.base
    with client() as http:
        assert sign_in(http, base, "newcomer").status_code == 403
    admin = {"Authorization": f"Bearer {w.a.tokens['admin']}"}
    body = {"name": "Nina", "role": "nurse", "health_centre_id": str(w.a.id)}
    created = httpx.post(
        f"{base}/api/v1/staff", json={**body, "hsa_id": accounts.NEWCOMER}, headers=admin
    )
    assert created.status_code == 201, created.text
    twice = httpx.post(
        f"{base}/api/v1/staff", json={**body, "hsa_id": accounts.NEWCOMER}, headers=admin
    )
    assert twice.status_code == 422  # one person, one staff row
    with client() as http:
        landed = sign_in(http, base, "newcomer")
        assert landed.status_code == 200
        assert "PA-0001" in http.get(f"{base}/console/worklist").text


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"error": "access_denied", "state": "s"}, 403),  # the person cancelled at the provider
        ({"code": "c", "state": "s", "iss": "http://127.0.0.1:1"}, 422),  # another provider's
    ],
)
def test_a_provider_that_refuses_or_is_not_ours_is_a_refusal_page(
    oidc_world: OidcWorld, query: dict[str, str], status: int
) -> None:
    with httpx.Client(timeout=30.0) as http:
        page = http.get(f"{oidc_world.base}/console/oidc/callback", params=query)
    assert page.status_code == status
    assert "Inloggningstjänsten svarade inte som väntat" in page.text
    assert (status,) in rows(
        oidc_world.db_url,
        "SELECT status FROM audit_log WHERE action = %s AND reason LIKE %s",
        CALLBACK_ACTION,
        "oidc sign-in refused (provider)%",
    )
