"""The console's pages in process (TestClient): the language, the patient page's charts and
words, and threshold tuning (preview, save with a reason, history), without a browser."""

from __future__ import annotations

import html
import json
import re
import string
from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import numpy as np
import pytest
from fastapi.testclient import TestClient

from hemkoll.alerts.evaluation import evaluate_patient
from hemkoll.api.console.catalogue import ENTRIES, MONTHS
from hemkoll.api.console.tuning import BACKTEST_DAYS
from hemkoll.rules import evaluate
from hemkoll.rules.alerting import HELD_AFTER_RESOLUTION
from hemkoll.rules.config import Band, RuleSet, ThresholdRule
from hemkoll.rules.findings import epoch_us
from hemkoll.rules.preset import HEART_FAILURE
from hemkoll.store.connect import connect
from tests.console.conftest import (
    MISSING_DAYS,
    ORIGIN,
    TZ,
    Seeded,
    add_alert,
    add_late_systolic,
    sign_in,
)


def _pages(seeded: Seeded) -> list[str]:
    a = seeded.world.a
    return [
        "/console/worklist",
        "/console/patients",
        f"/console/patients/{a.patient_id}?days=7&alert={seeded.trend_alert}",
        f"/console/patients/{a.patient_id}/thresholds?rule=systolic_bp",
        "/console/follow-up",
    ]


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_every_page_renders_in_both_languages(
    client: TestClient, seeded: Seeded, lang: str
) -> None:
    sign_in(client, seeded.world.a.tokens["clinician"])
    client.post("/console/language", data={"lang": lang}, headers={"Origin": ORIGIN})
    for path in _pages(seeded):
        page = client.get(path)
        assert page.status_code == 200, (path, page.text[:500])
        assert f'<html lang="{lang}">' in page.text


def test_swedish_by_default_english_on_request_kept_in_a_cookie(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, seeded.world.a.tokens["nurse"])
    assert "Arbetslista" in client.get("/console/worklist").text
    toggled = client.post(
        "/console/language",
        data={"lang": "en", "next": "/console/worklist"},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert toggled.status_code == 303
    assert toggled.headers["location"] == "/console/worklist"
    cookie = toggled.headers["set-cookie"].lower()
    assert cookie.startswith("hemkoll_lang=en;")
    assert "samesite=strict" in cookie
    page = client.get("/console/worklist").text
    assert "Worklist" in page
    assert "Morning weight is rising" in page  # the alert's own English explanation
    # "next" only ever leads back into the console.
    for elsewhere in ("https://evil.example/", "//evil.example/", "/api/v1/alerts"):
        answer = client.post(
            "/console/language",
            data={"lang": "sv", "next": elsewhere},
            headers={"Origin": ORIGIN},
            follow_redirects=False,
        )
        assert answer.headers["location"] == "/console/"


def test_both_languages_have_the_same_placeholders() -> None:
    fields = string.Formatter()
    for key, (sv, en) in ENTRIES.items():
        names = [{f for _, f, _, _ in fields.parse(text) if f} for text in (sv, en)]
        assert names[0] == names[1], key


def test_the_patient_page_shows_missing_days_limits_markers_and_words(
    client: TestClient, seeded: Seeded
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["nurse"])
    page = client.get(f"/console/patients/{a.patient_id}?days=30&alert={seeded.trend_alert}").text
    weight = page[page.index('id="chart-weight"') : page.index('id="chart-blood_pressure"')]
    # Missing: the seeded days without readings within 30 days; not today, which is not over.
    missing = sum(1 for d in MISSING_DAYS if d < 30)
    assert weight.count('class="missing"') == missing
    assert f"{missing} dagar utan mätning" in weight
    assert weight.count("track-fired") >= 1  # the weight trend alert's marker
    assert '<title id="chart-weight-title">Vikt</title>' in weight
    assert "Vikt, 30 dagar: mätt 26 av 30 dagar; 1 larm markerat." in weight
    assert "<table>" in weight  # the data table beside the chart
    spo2 = page[page.index('id="chart-spo2"') : page.index('id="chart-breathlessness"')]
    assert "Röd under 90,0" in spo2
    assert "Varför larmet gick" in page
    assert "Morgonvikten stiger: 3-dagarsmedelvärdet är 1,2 kg över" in page
    assert client.get(f"/console/patients/{a.patient_id}?days=12").status_code == 422


def test_a_nurse_reads_thresholds_but_cannot_change_them(
    client: TestClient, seeded: Seeded
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["nurse"])
    page = client.get(f"/console/patients/{a.patient_id}/thresholds?rule=systolic_bp").text
    # What the rule does, in words; not the programme's developer note.
    assert "Larmar när ett mätvärde för systoliskt blodtryck ligger utanför gränserna." in page
    assert "BEAT-HF urgent without symptoms" not in page
    assert 'id="edit-form"' not in page
    assert "Ändra" not in page
    preview = client.post(
        f"/console/patients/{a.patient_id}/thresholds/preview",
        data={"rule": "systolic_bp"},
        headers={"Origin": ORIGIN},
    )
    assert preview.status_code == 403


def test_tuning_previews_then_saves_with_a_reason(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    a = seeded.world.a
    sign_in(client, a.tokens["clinician"])
    base = f"/console/patients/{a.patient_id}/thresholds"
    form = client.get(f"{base}?rule=systolic_bp").text
    assert 'value="100"' in form  # yellow low, as the programme has it
    proposal = {
        "rule": "systolic_bp",
        "enabled": "on",
        "yellow_low": "105",
        "yellow_high": "150",
        "red_low": "80",
        "red_high": "170",
    }
    htmx = {"Origin": ORIGIN, "HX-Request": "true"}
    preview = client.post(f"{base}/preview", data=proposal, headers=htmx)
    assert preview.status_code == 200
    text = preview.text
    assert "<html" not in text  # a fragment
    assert re.search(r"larmade 0, nuvarande 0, förslag \d+", text)
    assert 'class="limit-yellow proposed"' in text  # the proposed lines on the chart
    assert 'name="yellow_low" value="105"' in text  # carried to the save form
    with connect(db_url) as conn:
        assert conn.execute("SELECT count(*) FROM rule_overrides").fetchone() == (0,)
    # Refused values come back in the form, each message beside its field (test_form_errors.py).
    bad = client.post(f"{base}/preview", data={**proposal, "yellow_low": "abc"}, headers=htmx)
    assert bad.status_code == 422
    assert bad.headers["hx-retarget"] == "#edit"
    assert "Ange ett värde mellan 40 och 300 mmHg." in bad.text
    invalid = client.post(f"{base}/preview", data={**proposal, "red_low": "110"}, headers=htmx)
    assert invalid.status_code == 422
    assert "Röd nedre gräns får inte vara högre än gul nedre gräns (105 mmHg)." in invalid.text
    no_reason = client.post(base, data=proposal, headers={"Origin": ORIGIN})
    assert no_reason.status_code == 422
    assert "Skriv varför regeln ändras." in no_reason.text
    saved = client.post(
        base,
        data={**proposal, "reason": "Lågt blodtryck i grunden"},
        headers={"Origin": ORIGIN},
        follow_redirects=False,
    )
    assert saved.status_code == 303
    assert saved.headers["location"].endswith("/thresholds?saved=1#history")
    with connect(db_url) as conn:
        layer, reason, by = conn.execute(
            "SELECT layer, reason, changed_by FROM rule_overrides WHERE patient_id = %s",
            (a.patient_id,),
        ).fetchone()
    assert reason == "Lågt blodtryck i grunden"
    assert by == f"staff:{a.staff_ids['clinician']}"
    assert layer["overrides"] == [
        {
            "id": "systolic_bp",
            "enabled": True,
            "patch": {"yellow": {"low": 105.0, "high": 150.0}},
            "note": "Lågt blodtryck i grunden",
        }
    ]
    page = client.get(saved.headers["location"]).text
    assert "Ändringen är sparad (version 1)." in page
    assert "Lågt blodtryck i grunden" in page
    assert "clinician Vårdcentral A" in page  # who, by name
    assert "individuell" in page
    # Putting the programme's values back removes the patient's override of the rule.
    back = {**proposal, "enabled": "", "yellow_low": "100", "yellow_high": "160"}
    client.post(base, data={**back, "reason": "Tillbaka"}, headers={"Origin": ORIGIN})
    with connect(db_url) as conn:
        layer = conn.execute(
            "SELECT layer FROM rule_overrides WHERE patient_id = %s AND version = 2",
            (a.patient_id,),
        ).fetchone()[0]
    assert layer["overrides"] == []


def test_a_page_answering_a_form_comes_back_to_the_form_page(
    client: TestClient, seeded: Seeded
) -> None:
    sign_in(client, seeded.world.a.tokens["nurse"])
    page = client.post(
        f"/console/alerts/{seeded.trend_alert}/assign",
        data={"to": "me"},
        headers={"Origin": ORIGIN, "Referer": f"{ORIGIN}/console/worklist"},
    )
    assert page.status_code == 200
    assert "Tilldelningen av larmet för PA-0001 är ändrad." in page.text
    assert 'name="next" value="/console/worklist"' in page.text
    assert "tilldelat dig" in page.text
    released = client.post(
        f"/console/alerts/{seeded.trend_alert}/assign",
        data={"to": "nobody"},
        headers={"Origin": ORIGIN, "HX-Request": "true"},
    )
    assert "Ta larmet" in released.text
    assert "tilldelat" not in released.text


def test_an_alerts_evidence_is_a_table_in_the_patients_local_time(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    """A real finding of the programme's SpO2 rule, for a patient in Helsinki (an hour ahead of
    the health centre): its figures in a table, times in the patient's zone, JSON behind a
    toggle and nowhere else."""
    a = seeded.world.a
    day = seeded.today - timedelta(days=2)
    first = datetime.combine(day, time(4, 30), UTC)
    second = first + timedelta(minutes=10)
    data = {
        "spo2": (
            np.asarray([epoch_us(first), epoch_us(second)], dtype=np.int64),
            np.asarray([88.0, 87.0]),
        )
    }
    helsinki = ZoneInfo("Europe/Helsinki")
    (finding,) = evaluate(HEART_FAILURE, data, tz=helsinki)
    assert finding.rule_id == "spo2_urgent"
    with connect(db_url) as conn, conn.transaction():
        conn.execute(
            "UPDATE patients SET timezone = 'Europe/Helsinki' WHERE id = %s", (a.patient_id,)
        )
        alert_id = add_alert(
            conn,
            a.patient_id,
            rule_id=finding.rule_id,
            rule_kind=finding.kind,
            severity=finding.severity,
            opened_at=finding.fired_at,
            explanation_en=finding.explanation_en,
            explanation_sv=finding.explanation_sv,
            evidence=dict(finding.evidence),
        )
    sign_in(client, a.tokens["nurse"])
    page = client.get(f"/console/patients/{a.patient_id}?days=7&alert={alert_id}").text
    why = page[page.index('id="alert-detail"') : page.index('aria-label="Period"')]
    assert '<details class="plain" open>' in why  # the figures of the alert asked about
    assert '<table class="evidence">' in why
    assert '<th scope="row">Mätvärde</th>' in why
    assert "<td>87\u00a0%</td>" in why
    assert "<td>under 90\u00a0%</td>" in why
    local = [f"{at.astimezone(helsinki):%H:%M}" for at in (first, second)]
    when = f"{day.day} {MONTHS['sv'][day.month - 1]} {day.year}"
    assert f"<li>{when} {local[0]}: 88\u00a0%</li>" in why
    assert f"<li>{when} {local[1]}: 87\u00a0%</li>" in why
    assert "<summary>Tekniska detaljer</summary>" in why
    details = why[why.index("<pre>") + len("<pre>") : why.index("</pre>")]
    assert json.loads(html.unescape(details)) == finding.evidence
    # Outside the JSON (and machine-readable attributes): no raw key, no ISO time.
    shown = re.sub(r"<pre>.*?</pre>|<[^>]+>", " ", page, flags=re.DOTALL)
    for raw in ("run_readings", "run_minutes", "readings", first.isoformat(), "+00:00"):
        assert raw not in shown, raw
    # The seeded trend alert's legacy evidence, in the list: its keys, plainly labelled.
    assert '<th scope="row">Macd kg</th>' in page
    assert "<td>1,2</td>" in page


LATE_WORDS = {"sv": ("sen ankomst", "nyss"), "en": ("arrived late", "just now")}


@pytest.mark.parametrize("lang", ["sv", "en"])
def test_a_late_arriving_finding_shows_when_it_was_measured_and_is_marked_late(
    client: TestClient, seeded: Seeded, db_url: str, lang: str
) -> None:
    """A red systolic 79 mmHg measured ten days ago whose alert opened seconds ago: the
    worklist card and the patient page say when it was measured and how long ago, beside the
    opening, and mark it as arrived late, not as news; an alert measured when it opened is not
    marked."""
    late, just_now = LATE_WORDS[lang]
    a = seeded.world.a
    now = datetime.now(UTC)
    # Ten days and five minutes ago, whatever the hour the test runs at: "10 d".
    measured = (now - timedelta(days=10, minutes=5)).astimezone(TZ).replace(second=0, microsecond=0)
    with connect(db_url) as conn, conn.transaction():
        alert_id = add_late_systolic(
            conn, a.patient_id, measured_at=measured, opened_at=now - timedelta(seconds=5)
        )
    sign_in(client, a.tokens["nurse"])
    client.post("/console/language", data={"lang": lang}, headers={"Origin": ORIGIN})
    stamp = measured.strftime("%Y-%m-%d %H:%M")
    worklist = client.get("/console/worklist").text
    card = worklist[worklist.index(f'id="alert-{alert_id}"') :]
    card = card[: card.index("</article>")]
    assert f'datetime="{measured.astimezone(UTC).isoformat()}" data-measured>{stamp}<' in card
    assert f">{just_now}</time>" in card  # opened seconds ago, not "0 min ago"
    assert late in card
    assert "10 d" in card  # the measurement's age
    page = client.get(f"/console/patients/{a.patient_id}?alert={alert_id}").text
    detail = page[page.index('id="alert-detail"') :]
    assert stamp in detail
    assert late in detail
    # The trend alert of the fixture was measured when it opened: no marker.
    trend_card = worklist[worklist.index(f'id="alert-{seeded.trend_alert}"') :]
    assert late not in trend_card[: trend_card.index("</article>")]


def test_tuning_preview_counts_what_the_nurse_would_get(client: TestClient, seeded: Seeded) -> None:
    """A red heart-rate limit of 65/min for a patient whose pulse is 66-70 every day: the rule
    would fire every day, but a nurse gets one alert per deterioration, and a condition that
    lasts gets a new one only once it still goes on ``HELD_AFTER_RESOLUTION`` after she
    resolved the last (about weekly), not one a day after resolving the day before's; the
    preview counts what she would get."""
    a = seeded.world.a
    sign_in(client, a.tokens["clinician"])
    base = f"/console/patients/{a.patient_id}/thresholds"
    proposal = {"rule": "heart_rate_urgent", "enabled": "on", "red_low": "40", "red_high": "65"}
    htmx = {"Origin": ORIGIN, "HX-Request": "true"}
    preview = client.post(f"{base}/preview", data=proposal, headers=htmx)
    assert preview.status_code == 200, preview.text
    found = re.search(r"förslag (\d+) på (\d+) dagar", preview.text)
    assert found, preview.text
    alerts, days = int(found[1]), int(found[2])
    # 90 days in the preview, 86 of them with readings on which the rule fires: a new alert
    # at most every HELD_AFTER_RESOLUTION (the backtest's nurse resolves each in 4 hours),
    # and more than one: a lasting condition is not silenced by its first resolution.
    weekly = -(-BACKTEST_DAYS // HELD_AFTER_RESOLUTION.days)
    assert 2 <= alerts <= weekly
    assert days == alerts
    total = re.search(r"nuvarande regler ger (\d+) och förslaget hade gett (\d+)", preview.text)
    assert total, preview.text
    # The proposal adds at most its own rule's alerts to what the patient's rules give.
    assert int(total[1]) <= int(total[2]) <= int(total[1]) + alerts
    assert "varje larm avslutat 4 timmar efter att det öppnades" in preview.text


def _charts_in_order(page: str) -> list[str]:
    return re.findall(r'<figure class="chart" id="chart-([a-z0-9_]+)"', page)


def test_the_patient_charts_tell_the_truth_about_days_markers_and_order(
    client: TestClient, seeded: Seeded, db_url: str
) -> None:
    """Days before enrolment are not missing days; a late reading's alert is marked on the
    day it was measured; the symptom scores are three small charts; the alert's metric comes
    first."""
    a = seeded.world.a
    measured = datetime.combine(seeded.today - timedelta(days=10), time(7, 35), TZ)
    with connect(db_url) as conn, conn.transaction():
        late = add_late_systolic(
            conn, a.patient_id, measured_at=measured, opened_at=datetime.now(UTC)
        )
        # Enrolled 20 days ago (the seeded readings before then are an imported history).
        conn.execute(
            "UPDATE patients SET enrolled_at = %s WHERE id = %s",
            (datetime.now(UTC) - timedelta(days=20), a.patient_id),
        )
    sign_in(client, a.tokens["nurse"])
    page = client.get(f"/console/patients/{a.patient_id}?days=90&alert={late}").text
    # The alert is about blood pressure: that chart first; the rest as before.
    assert _charts_in_order(page) == [
        "blood_pressure",
        "weight",
        "heart_rate",
        "spo2",
        "breathlessness",
        "ankle_swelling",
        "fatigue",
        "self_rated_health",
        "index",  # the deterioration index, in its own section below the readings
    ]
    weight = page[page.index('id="chart-weight"') : page.index('id="chart-heart_rate"')]
    # Missing days only from enrolment (20 days ago) to yesterday: 4 and 11, 12 days ago.
    assert weight.count('class="missing"') == sum(1 for d in MISSING_DAYS if d < 20)
    bp = page[page.index('id="chart-blood_pressure"') : page.index('id="chart-weight"')]
    # The late systolic's marker sits on the day it was measured, 10 days ago, not today.
    day_label = f"{measured.day} {MONTHS['sv'][measured.month - 1]}"
    dot = re.search(r'<circle class="dot-0" cx="([\d.]+)"[^>]*><title>[^<]*, ' + day_label, bp)
    assert dot, day_label
    marker = re.search(r'<circle class="marker-red track-fired" cx="([\d.]+)"', bp)
    assert marker
    assert marker[1] == dot[1]
    assert f"Mätt {measured:%Y-%m-%d %H:%M}" in bp
    # Three symptom charts, one series each, side by side in one row.
    row = page[page.index('<div class="multiples">') :]
    for key in ("breathlessness", "ankle_swelling", "fatigue"):
        chart = row[row.index(f'id="chart-{key}"') :]
        chart = chart[: chart.index("</figure>")]
        assert chart.count('class="key key-0"') == 1, key  # one series in its legend
        assert 'class="key key-1"' not in chart, key


PULSE_AND_SPO2 = RuleSet(
    name="test pulse and spo2",
    rules=(
        ThresholdRule(id="spo2_urgent", metric="spo2", red=Band(low=90)),
        ThresholdRule(id="heart_rate_urgent", metric="heart_rate", red=Band(high=130)),
    ),
)


@pytest.mark.parametrize(
    ("lang", "heading"),
    [("sv", "Även sett under samma försämring"), ("en", "Also seen in the same deterioration")],
)
def test_another_rules_evidence_on_an_alert_is_shown_in_words(
    client: TestClient, seeded: Seeded, db_url: str, lang: str, heading: str
) -> None:
    """The worker puts a finding of another rule on the patient's unresolved alert (one alert
    per deterioration): the alert's page lists it, the rule named and its sentence."""
    a = seeded.world.a
    first = datetime.combine(seeded.today - timedelta(days=1), time(5, 30), UTC)
    readings = [("spo2", 87.0, first), ("heart_rate", 135.0, first + timedelta(minutes=1))]
    with connect(db_url) as conn, conn.transaction():
        # The fixture's alerts are a month old and resolved: the new findings are news.
        long_ago = first - timedelta(days=30)
        conn.execute(
            "UPDATE alerts SET state = 'resolved', outcome = 'no_action_needed',"
            " acknowledged_at = %s, resolved_at = %s, opened_at = %s, first_fired_at = %s,"
            " last_fired_at = %s WHERE patient_id = %s",
            (long_ago, long_ago, long_ago, long_ago, long_ago, a.patient_id),
        )
        for metric, value, at in readings:
            conn.execute(
                "INSERT INTO readings (patient_id, device_id, metric, value, measured_at)"
                " VALUES (%s, %s, %s, %s, %s)",
                (a.patient_id, a.device_id, metric, value, at),
            )
        evaluate_patient(conn, PULSE_AND_SPO2, a.patient_id, now=first + timedelta(minutes=5))
        found = conn.execute(
            "SELECT a.id, array_agg(e.kind ORDER BY e.id) FROM alerts a"
            " JOIN alert_events e ON e.alert_id = a.id"
            " WHERE a.patient_id = %s AND a.state = 'open' GROUP BY a.id",
            (a.patient_id,),
        ).fetchall()
    [(alert_id, kinds)] = found
    assert kinds == ["opened", "evidence_added"]
    (pulse,) = evaluate(
        PULSE_AND_SPO2,
        {"heart_rate": (np.asarray([epoch_us(readings[1][2])]), np.asarray([135.0]))},
        tz=ZoneInfo("Europe/Stockholm"),
    )
    sign_in(client, a.tokens["nurse"])
    client.post("/console/language", data={"lang": lang}, headers={"Origin": ORIGIN})
    page = client.get(f"/console/patients/{a.patient_id}?days=7&alert={alert_id}").text
    why = html.unescape(page[page.index('id="alert-detail"') : page.index('class="periods"')])
    assert heading in why
    joined = why[why.index(heading) :]
    assert (pulse.explanation_sv if lang == "sv" else pulse.explanation_en) in joined
