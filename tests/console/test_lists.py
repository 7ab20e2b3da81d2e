"""The patient list and the worklist's filters, grouping and reminders acknowledged together
(issue 19, "what a nurse expects and does not find"), in process (TestClient): the figures
of the seeded patient (conftest.py: 80 kg, then 0.7 kg more each of the last five days, a few
days without a reading), search and sort by query parameters, filters kept by the refresh,
and the audit rows each writes."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta
from typing import Any
from uuid import UUID

from fastapi.testclient import TestClient

from hemkoll.store import patients
from hemkoll.store.connect import connect
from tests.api.conftest import make_alert
from tests.console.conftest import ORIGIN, Seeded, add_alert, add_reminders, sign_in


def _rows(page: str) -> list[str]:
    """The patient list's rows, as text (tags stripped, spaces folded)."""
    body = page.split("<tbody>", 1)[1].split("</tbody>", 1)[0]
    rows = re.findall(r"<tr>(.*?)</tr>", body, flags=re.S)
    return [" ".join(html.unescape(re.sub(r"<[^>]+>", " ", r)).split()) for r in rows]


def _more_patients(db_url: str, seeded: Seeded) -> dict[str, UUID]:
    """PA-0002 without any reading, PA-0003 with two red alerts, both in centre A."""
    a = seeded.world.a
    made = {}
    with connect(db_url) as conn, conn.transaction():
        for reference in ("PA-0002", "PA-0003"):
            made[reference] = patients.create_patient(
                conn,
                health_centre_id=a.id,
                reference=reference,
                language="sv",
                timezone="Europe/Stockholm",
            ).id
        make_alert(conn, made["PA-0003"], "red", rule_id="spo2_urgent")
        make_alert(conn, made["PA-0003"], "red", rule_id="systolic_bp_urgent")
    return made


def _audit(db_url: str, action: str) -> list[tuple[Any, ...]]:
    with connect(db_url) as conn:
        return conn.execute(
            "SELECT status, object_type, object_id, patient_id FROM audit_log "
            "WHERE action = %s ORDER BY id",
            (action,),
        ).fetchall()


def test_the_patient_list_shows_her_latest_values_against_her_usual(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    with connect(db_url) as conn, conn.transaction():
        conn.execute(
            "UPDATE alerts SET assigned_to = %s WHERE id = %s",
            (a.staff_ids["nurse"], seeded.trend_alert),
        )
    sign_in(client, a.tokens["nurse"])
    page = client.get("/console/patients")
    assert page.status_code == 200
    [row] = _rows(page.text)
    # Yesterday 83.5 kg; her usual, the median of the 14 days before: 80.0 kg.
    assert "83,5 kg" in row
    assert "+3,5 kg över vanlig" in row
    # Yesterday's blood pressure, with its day.
    yesterday = seeded.today - timedelta(days=1)
    assert "126/79 mmHg" in row
    assert re.search(rf"126/79 mmHg {yesterday.day} \w+", row), row
    assert "för 1 dag sedan" in row  # the singular
    # 11 of the last 14 whole days with a weight (days 4, 11 and 12 ago without).
    assert "79 % 11 av 14 dagar" in row  # (the space folded: a no-break space)
    assert "1 röd" in row
    assert "1 gul" in row
    assert row.endswith("du Gränsvärden")  # her trend alert is the nurse's own
    # Centre B's patient is never listed.
    assert "PB-0001" not in page.text
    # In English too, from the catalogue.
    client.post("/console/language", data={"lang": "en"}, headers={"Origin": ORIGIN})
    [row] = _rows(client.get("/console/patients").text)
    assert "+3.5 kg above usual" in row
    assert "1 day ago" in row
    assert "11 of 14 days" in row
    # Each patient shown, and her readings, recorded.
    rows = _audit(db_url, "GET /console/patients")
    assert {(r[0], r[1], r[3]) for r in rows} == {
        (200, "patient", a.patient_id),
        (200, "readings", a.patient_id),
    }


def test_the_patient_list_searches_and_sorts_by_query_parameters(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    _more_patients(db_url, seeded)
    sign_in(client, seeded.world.a.tokens["nurse"])

    def order(query: str) -> list[str]:
        page = client.get(f"/console/patients{query}")
        assert page.status_code == 200, page.text[:300]
        return [r.split()[0] for r in _rows(page.text)]

    assert order("") == ["PA-0001", "PA-0002", "PA-0003"]
    assert order("?sort=reference&order=desc") == ["PA-0003", "PA-0002", "PA-0001"]
    # Most alerts first; the longest without a reading first, none at all last either way.
    assert order("?sort=alerts") == ["PA-0003", "PA-0001", "PA-0002"]
    assert order("?sort=days&order=desc") == ["PA-0001", "PA-0002", "PA-0003"]
    # Enrolled today, the others have no whole day to count yet: last, either way.
    assert order("?sort=adherence&order=asc") == ["PA-0001", "PA-0002", "PA-0003"]
    assert order("?sort=adherence&order=desc") == ["PA-0001", "PA-0002", "PA-0003"]
    # Search: part of the reference, any case; the sort goes along.
    assert order("?q=a-000&sort=alerts") == ["PA-0003", "PA-0001", "PA-0002"]
    assert order("?q=0003") == ["PA-0003"]
    empty = client.get("/console/patients?q=zzz").text
    assert "Ingen patient har en referens som innehåller ”zzz”." in empty
    # The sorted column says so and its link turns the order; the others start with theirs.
    page = client.get("/console/patients?q=pa&sort=alerts&order=desc").text
    head = re.search(r'<th scope="col" aria-sort="descending">\s*<a href="([^"]+)"', page)
    assert head is not None
    assert html.unescape(head.group(1)) == "/console/patients?q=pa&sort=alerts&order=asc"
    assert page.count("aria-sort=") == 1
    assert 'href="/console/patients?q=pa&amp;sort=days&amp;order=desc"' in page
    # What no form sends is refused.
    assert client.get("/console/patients?sort=id").status_code == 422
    assert client.get("/console/patients?q=" + "x" * 65).status_code == 422


def test_worklist_filters_are_kept_by_the_refresh_and_counted(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    with connect(db_url) as conn, conn.transaction():
        add_reminders(conn, a.patient_id, opened_at=datetime.now(UTC) - timedelta(hours=5))
        conn.execute(
            "UPDATE alerts SET assigned_to = %s WHERE id = %s",
            (a.staff_ids["nurse"], seeded.trend_alert),
        )
    sign_in(client, a.tokens["nurse"])
    # Unfiltered: 2 + 3 reminders, all of them one patient's.
    page = client.get("/console/worklist").text
    assert "5 larm" in page
    assert "visas med filtren" not in page
    # The rule filter offers the plain names, with their counts; never a rule's id as text.
    assert ">Påminnelser: mätning saknas (3)</option>" in page
    assert ">Vikt: stigande trend (1)</option>" in page
    choices = page.split('id="filter-rule"', 1)[1].split("</select>", 1)[0]
    text = re.sub(r"<[^>]+>", " ", choices)
    assert "En regel som inte finns längre (1)" in text  # the world's rule, not the programme's
    for rule_id in ("weight_missing_48h", "bp_missing_72h", "weight_trend", "weight_gain"):
        assert rule_id not in text, rule_id

    def cards(path: str) -> list[str]:
        answer = client.get(path)
        assert answer.status_code == 200, answer.text[:300]
        return re.findall(r'<li class="card sev-(\w+) ', answer.text)

    assert cards("/console/worklist?assigned=me") == ["yellow"]
    assert cards("/console/worklist?assigned=nobody") == ["red", "yellow", "yellow", "yellow"]
    assert cards("/console/worklist?severity=red") == ["red"]
    assert len(cards("/console/worklist?rule=kind:missing")) == 3
    assert cards("/console/worklist?rule=rule:weight_trend") == ["yellow"]
    mine = client.get("/console/worklist?assigned=me&severity=yellow").text
    assert "5 larm" in mine
    assert "1 visas med filtren" in mine
    # The form shows what is chosen; the list's refresh asks for the same.
    assert '<option value="me" selected>Mina</option>' in mine
    assert 'hx-get="/console/worklist/rows?assigned=me&amp;severity=yellow"' in mine
    rows = client.get("/console/worklist/rows?assigned=me&severity=yellow").text
    assert len(re.findall(r'<li class="card ', rows)) == 1
    assert 'hx-get="/console/worklist/rows?assigned=me&amp;severity=yellow"' in rows
    none = client.get("/console/worklist?severity=red&assigned=me").text
    assert "Inga larm med de här filtren." in none
    for wrong in ("severity=green", "assigned=someone", "rule=weight_trend", "rule=kind:x"):
        assert client.get(f"/console/worklist?{wrong}").status_code == 422, wrong


def test_a_patients_cards_are_grouped_under_her_most_severe_first(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    other = _more_patients(db_url, seeded)["PA-0003"]
    with connect(db_url) as conn, conn.transaction():
        add_alert(
            conn,
            a.patient_id,
            rule_id="heart_rate_urgent",
            rule_kind="threshold",
            severity="red",
            opened_at=datetime.now(UTC) - timedelta(days=3),
            explanation_en="Heart rate 130/min.",
            explanation_sv="Puls 130/min.",
            evidence={"value": 130.0, "high": 120.0, "consecutive": 1},
        )
    sign_in(client, a.tokens["nurse"])
    page = client.get("/console/worklist").text
    groups = re.findall(
        r'<li class="group" id="patient-([0-9a-f-]+)">(.*?)</ol>\s*</li>', page, re.S
    )
    # PA-0001's oldest red alert (3 days) is older than PA-0003's: her group comes first.
    assert [UUID(g[0]) for g in groups] == [a.patient_id, other]
    first = groups[0][1]
    assert first.count("<h2 ") == 1
    assert "3 larm" in first
    assert re.findall(r'<li class="card sev-(\w+) ', first) == ["red", "red", "yellow"]
    assert "Kvittera påminnelser" not in page  # no reminders, no button


def test_a_patients_reminders_are_acknowledged_together_each_as_one(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    with connect(db_url) as conn, conn.transaction():
        reminders = add_reminders(
            conn, a.patient_id, opened_at=datetime.now(UTC) - timedelta(hours=5)
        )
    sign_in(client, a.tokens["nurse"])
    page = client.get("/console/worklist?rule=kind:missing").text
    assert "Kvittera påminnelser (3)" in page
    path = f"/console/patients/{a.patient_id}/reminders/acknowledge"
    done = client.post(
        path,
        data={"rule": "kind:missing"},
        headers={"Origin": ORIGIN, "HX-Request": "true"},
    )
    assert done.status_code == 200, done.text[:500]
    assert "3 påminnelser för PA-0001 är kvitterade." in done.text
    # The list comes back filtered as it was, focus on her heading, no button any more.
    assert 'hx-get="/console/worklist/rows?rule=kind%3Amissing"' in done.text
    assert f'id="group-{a.patient_id}" tabindex="-1" data-focus' in done.text
    assert "Kvittera påminnelser" not in done.text
    with connect(db_url) as conn:
        states = conn.execute(
            "SELECT state, count(*) FROM alerts WHERE id = ANY(%s) GROUP BY state", (reminders,)
        ).fetchall()
        events = conn.execute(
            "SELECT alert_id, actor FROM alert_events WHERE kind = 'acknowledged' "
            "AND alert_id = ANY(%s)",
            (reminders,),
        ).fetchall()
        told = conn.execute(
            "SELECT count(DISTINCT alert_id) FROM notifications WHERE alert_id = ANY(%s)",
            (reminders,),
        ).fetchone()
    assert states == [("acknowledged", 3)]
    assert {e[0] for e in events} == set(reminders)
    assert {e[1] for e in events} == {f"staff:{a.staff_ids['nurse']}"}
    assert told == (3,)  # each told to her device, as a single acknowledge does
    # The other alerts are not touched.
    with connect(db_url) as conn:
        row = conn.execute("SELECT state FROM alerts WHERE id = %s", (a.alert_id,)).fetchone()
    assert row == ("open",)
    action = "POST /console/patients/{patient_id}/reminders/acknowledge"
    rows = _audit(db_url, action)
    assert {(r[0], r[1], r[2]) for r in rows} == {(200, "alert", str(r)) for r in reminders}
    # Again: none left, refused with why (in the live region for htmx), and recorded.
    again = client.post(path, data={}, headers={"Origin": ORIGIN, "HX-Request": "true"})
    assert again.status_code == 409
    assert "Inga öppna påminnelser kvar för PA-0001" in again.text
    assert again.headers["HX-Retarget"] == "#messages"
    plain = client.post(path, data={}, headers={"Origin": ORIGIN})
    assert plain.status_code == 409
    assert "Till arbetslistan" in plain.text
    assert [r[:2] for r in _audit(db_url, action)[-2:]] == [(409, "patient"), (409, "patient")]
    # Another centre's patient is not found.
    elsewhere = f"/console/patients/{seeded.world.b.patient_id}/reminders/acknowledge"
    assert client.post(elsewhere, data={}, headers={"Origin": ORIGIN}).status_code == 404
