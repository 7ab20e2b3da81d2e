"""The contact log on the patient page and the summary for the patient record, in process
(TestClient): adding an entry in place (htmx) and without JavaScript, a form refused with each
message beside its field, another centre's patient, the audit rows, and the summary's figures,
period and print chrome."""

from __future__ import annotations

import html
import re
from datetime import UTC, datetime, timedelta

import psycopg
import pytest
from fastapi.testclient import TestClient

from hemkoll.api.console.web import CONTENT_SECURITY_POLICY
from tests.console.conftest import ORIGIN, TZ, Seeded, sign_in

HTMX = {"Origin": ORIGIN, "HX-Request": "true"}


def _form(**fields: str) -> dict[str, str]:
    now = datetime.now(UTC).astimezone(TZ) - timedelta(minutes=20)
    return {
        "kind": "call_out",
        "date": now.date().isoformat(),
        "time": now.strftime("%H:%M"),
        "text": "Ringde, mår bra.",
    } | fields


def test_the_patient_page_has_a_contact_log_form_defaulting_to_now_in_the_patients_time(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, seeded.world.a.tokens["nurse"])
    page = client.get(f"/console/patients/{seeded.world.a.patient_id}").text
    assert 'id="contact-log"' in page
    assert "Kontaktlogg" in page
    today = datetime.now(UTC).astimezone(TZ).date().isoformat()
    assert f'name="date" type="text" value="{today}"' in page
    assert "Inga poster ännu." in page
    assert f'/console/patients/{seeded.world.a.patient_id}/summary"' in page


def test_a_nurse_adds_an_entry_in_place_and_it_is_audited(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["nurse"])
    answer = client.post(f"/console/patients/{a.patient_id}/contacts", data=_form(), headers=HTMX)
    assert answer.status_code == 200, answer.text
    assert answer.text.startswith("<section") or 'id="contact-log"' in answer.text
    assert "Samtal till patienten" in answer.text
    assert "Ringde, mår bra." in answer.text
    assert "Sparat i kontaktloggen." in answer.text  # the live region, out of band
    assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    with psycopg.connect(db_url) as conn:
        kind, author = conn.execute("SELECT kind, author FROM contact_log").fetchone()  # type: ignore[misc]
        audited = conn.execute(
            "SELECT object_type FROM audit_log WHERE action = %s AND status = 200",
            ("POST /console/patients/{patient_id}/contacts",),
        ).fetchall()
    assert (kind, author) == ("call_out", a.staff_ids["nurse"])
    assert sorted(r[0] for r in audited) == ["contact", "contact_log"]
    page = client.get(f"/console/patients/{a.patient_id}").text
    assert "Ringde, mår bra." in page


def test_without_javascript_a_saved_entry_goes_back_to_the_patient_page(
    client: TestClient, seeded: Seeded
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["nurse"])
    answer = client.post(
        f"/console/patients/{a.patient_id}/contacts",
        data=_form(kind="visit", text="Hembesök."),
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert answer.status_code == 303
    assert answer.headers["location"] == f"/console/patients/{a.patient_id}#contact-log"
    assert "Hembesök." in client.get(answer.headers["location"]).text


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"kind": "email"}, "kind", "Välj typ av kontakt."),
        ({"date": "30/11/2026"}, "date", "Ange ett datum, till exempel"),
        ({"time": "25:00"}, "time", "Ange klockslaget som TT:MM"),
        ({"date": "2999-01-01"}, "time", "Den tiden har inte varit än"),
        ({"text": "  "}, "text", "Skriv vad som hände."),
        ({"text": "x" * 2001}, "text", "Skriv högst 2000 tecken."),
    ],
)
def test_a_form_refused_comes_back_as_typed_with_the_message_beside_the_field(
    client: TestClient, seeded: Seeded, fields: dict[str, str], field: str, message: str
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["nurse"])
    for headers in (HTMX, {"Origin": ORIGIN}):
        answer = client.post(
            f"/console/patients/{a.patient_id}/contacts", data=_form(**fields), headers=headers
        )
        assert answer.status_code == 422
        text = html.unescape(answer.text)
        error = re.search(rf'<p id="contact-{field}-error" class="field-error">([^<]*)</p>', text)
        assert error is not None, text[:2000]
        assert error.group(1).startswith(message)
        assert re.search(rf'id="contact-{field}"[^>]*aria-invalid="true"', text, re.S)
        if "text" in fields and fields["text"].strip():
            assert fields["text"] in text  # what was typed stays typed
    assert "Kontaktlogg" in answer.text
    assert "<header" in answer.text  # a whole page without JS


def test_another_centres_patient_is_not_found_and_administrators_may_not(
    client: TestClient, seeded: Seeded
) -> None:
    world = seeded.world
    sign_in(client, world.a.tokens["nurse"])
    path = f"/console/patients/{world.b.patient_id}"
    assert client.post(f"{path}/contacts", data=_form(), headers=HTMX).status_code == 404
    assert client.get(f"{path}/summary").status_code == 404
    sign_in(client, world.a.tokens["admin"])
    assert client.get(f"/console/patients/{world.a.patient_id}/summary").status_code == 403


def test_a_note_resolving_an_alert_on_the_worklist_shows_in_the_log_with_its_alert(
    client: TestClient, seeded: Seeded
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["nurse"])
    answer = client.post(
        f"/console/alerts/{seeded.trend_alert}/resolve",
        data={"outcome": "contacted_patient", "note": "Ringde: äter mer salt, pratade om det."},
        headers=HTMX,
    )
    assert answer.status_code == 200
    page = html.unescape(client.get(f"/console/patients/{a.patient_id}").text)
    log = page[page.index('id="contact-log"') :]
    assert "Ringde: äter mer salt" in log
    assert f"?alert={seeded.trend_alert}#alert-detail" in log
    assert "Om larmet: Vikt" in log


def test_the_summary_shows_the_period_figures_alerts_log_and_own_thresholds(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["clinician"])
    client.post(f"/console/patients/{a.patient_id}/contacts", data=_form(), headers=HTMX)
    page = client.get(f"/console/patients/{a.patient_id}/summary")
    assert page.status_code == 200, page.text[:1000]
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    text = html.unescape(page.text)
    assert "Sammanfattning PA-0001" in text
    assert "(30 dagar)" in text
    assert "data-print hidden>Skriv ut / spara som PDF</button>" in text
    assert "Spara som PDF" in text  # the help says how a PDF is made
    # 29 whole days (today is not over), of which 27 with a weight (days 4, 11, 12 missing).
    assert "Vägd 26 av 29 hela dagar i perioden (90\u00a0%)." in text
    assert re.search(r"Vikt \(kg\)</th><td class=\"num\">2[0-9]</td>", text), text
    assert "Kontakt med patienten" in text  # the SpO2 alert resolved 20 days ago
    assert "Ringde, mår bra." in text
    assert "Programmets gränser gäller." in text
    for inline in ("<style", "<script>", " style="):
        assert inline not in text
    with psycopg.connect(db_url) as conn:
        types = {
            r[0]
            for r in conn.execute(
                "SELECT object_type FROM audit_log WHERE action = %s",
                ("GET /console/patients/{patient_id}/summary",),
            )
        }
    assert types == {"patient", "readings", "thresholds", "contact_log", "alert"}


def test_a_summary_period_that_is_not_one_comes_back_with_the_message_beside_the_date(
    client: TestClient, seeded: Seeded
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["nurse"])
    base = f"/console/patients/{a.patient_id}/summary"
    bad = client.get(base, params={"from": "2026-13-01"})
    assert bad.status_code == 422
    assert 'id="summary-from-error"' in bad.text
    order = client.get(base, params={"from": "2026-03-01", "to": "2026-02-01"})
    assert order.status_code == 422
    assert "Perioden måste börja" in html.unescape(order.text)
    week = client.get(base, params={"from": "2026-01-01", "to": "2026-01-07"})
    assert week.status_code == 200
    assert "(7 dagar)" in week.text
    assert "Inga mätvärden under perioden." in html.unescape(week.text)
