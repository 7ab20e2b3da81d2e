"""The console in a real browser: Playwright drives Debian's Chromium (/usr/bin/chromium,
headless) against the API served by uvicorn on a thread, on a fresh database with the console's
world (conftest.py).

One walk through what the issue asks of CI: a nurse signs in and acknowledges an alert (in
place, on a tablet-sized screen) and resolves another with the keyboard; opens the patient's
charts; a clinician tunes a threshold after seeing its backtest and saves it with a reason;
the follow-up page shows the figures (today's alerts too, its dates as ISO dates); the language
switches. Then the thresholds page says what each rule does, without developer notes or rule
ids, and a clinician's wrong thresholds (out of range, a red limit inside the yellow band, a
blank reason): each message visible right after its field, which is invalid and described by
it, in Swedish; and the same without JavaScript. Every page is checked with axe-core (serious
and critical violations fail), and no page may break its Content-Security-Policy.
Screenshots go to ``$HEMKOLL_TEST_ARTIFACTS/console`` (default: test-artifacts/console).
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, time, timedelta
from pathlib import Path
from typing import Any

from hemkoll.simulator.receiver.server import ThreadedServer
from hemkoll.store.connect import connect
from tests.console.browser import LANDSCAPE, PORTRAIT, Tab, scalar, sign_in
from tests.console.conftest import TZ, Seeded, add_late_systolic


def test_nurse_and_clinician_walk_through_the_console(
    server: ThreadedServer, browser: Any, seeded: Seeded, db_url: str, shots: Path
) -> None:
    world, base = seeded.world, server.base_url
    context = browser.new_context(viewport=LANDSCAPE, locale="sv-SE")
    tab = Tab(context.new_page(), shots)
    page = tab.page

    # Sign-in (the worklist asks for it), then the worklist, red first.
    page.goto(f"{base}/console/worklist")
    assert "/console/sign-in" in page.url
    tab.axe()
    tab.shot("01-sign-in")
    page.get_by_label("API-nyckel").fill(world.a.tokens["nurse"])
    page.get_by_role("button", name="Logga in").click()
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()
    cards = page.locator("#worklist li.card")
    assert cards.count() == 2
    assert "sev-red" in (cards.first.get_attribute("class") or "")
    tab.axe()
    tab.shot("02-worklist")

    # Acknowledge the weight-trend alert in place: the card changes, the live region says so.
    card = page.locator(f"#alert-{seeded.trend_alert}")
    card.get_by_role("button", name="Kvittera").click()
    page.locator("#messages").get_by_text("kvitterat").wait_for()
    card.get_by_text("Kvitterat").first.wait_for()
    # Focus lands on the changed card, so a keyboard user goes on from there.
    # htmx moves focus once the swap has settled, a moment after the new card shows.
    title = f"alert-{seeded.trend_alert}-title"
    page.wait_for_function("id => document.activeElement?.id === id", arg=title, timeout=5000)
    assert scalar(db_url, "SELECT state FROM alerts WHERE id = %s", seeded.trend_alert) == (
        "acknowledged"
    )
    action = "POST /console/alerts/{alert_id}/acknowledge"
    assert (
        scalar(
            db_url,
            "SELECT count(*) FROM audit_log WHERE action = %s AND object_id = %s AND status = 200",
            action,
            str(seeded.trend_alert),
        )
        == 1
    )
    page.set_viewport_size(PORTRAIT)
    tab.shot("03-acknowledged-portrait")
    page.set_viewport_size(LANDSCAPE)

    # Resolve the other alert with the keyboard only: open the panel, choose, type, submit.
    other = page.locator(f"#alert-{world.a.alert_id}")
    other.locator("summary").focus()
    page.keyboard.press("Enter")
    outcome = other.get_by_label("Utfall")
    outcome.focus()
    outcome.select_option("contacted_patient")
    other.get_by_label("Anteckning (frivillig)").fill("Ringde, mår bra.")
    page.keyboard.press("Tab")
    page.keyboard.press("Enter")
    page.locator("#messages").get_by_text("avslutat").wait_for()
    assert scalar(db_url, "SELECT outcome FROM alerts WHERE id = %s", world.a.alert_id) == (
        "contacted_patient"
    )

    # The patient's page from the card: charts, missing days, markers, the evidence in words.
    card.get_by_role("link", name="PA-0001").click()
    page.get_by_role("heading", name="Varför larmet gick").wait_for()
    assert page.locator("#chart-weight rect.missing").count() >= 3
    assert page.locator("#chart-weight circle.track-fired").count() >= 1
    assert page.locator("#chart-spo2 line.limit-red").count() == 1
    page.get_by_text("Morgonvikten stiger").first.wait_for()
    # The alert asked about shows its figures as a table; the JSON stays behind its toggle.
    page.locator("#alert-detail table.evidence").wait_for()
    assert not page.locator("#alert-detail details.technical pre").is_visible()
    tab.axe()
    tab.shot("04-patient")
    page.get_by_role("link", name="90 dagar").click()
    page.locator("#chart-weight").wait_for()
    tab.shot("05-patient-90-days")
    page.get_by_role("button", name="Logga ut").click()
    page.get_by_label("API-nyckel").wait_for()

    # A clinician tunes a threshold: sees the backtest on the chart, then saves with a reason.
    sign_in(tab, base, world.a.tokens["clinician"])
    page.goto(f"{base}/console/patients/{world.a.patient_id}/thresholds")
    page.locator("#edit-weight_gain_3d").click()
    page.get_by_label("Regeln är på").check()
    page.get_by_label("Gul vid (kg)").fill("1,5")
    page.get_by_role("button", name=re.compile("Förhandsgranska")).click()
    page.locator("#preview-heading").wait_for()
    page.wait_for_function("() => document.activeElement.id === 'preview-heading'")
    assert page.locator("#chart-weight-backtest .track-proposed").count() >= 1
    assert page.locator("#chart-weight-backtest line.proposed").count() == 0  # a change rule
    summary = page.locator("#preview").inner_text()
    assert re.search(r"larmade \d+, nuvarande 0, förslag [1-9]", summary), summary
    tab.axe()
    tab.shot("06-backtest")
    assert scalar(db_url, "SELECT count(*) FROM rule_overrides") == 0
    page.get_by_label("Skäl till ändringen").fill("Snabb viktuppgång förra veckan")
    page.get_by_role("button", name="Spara ändringen").click()
    page.get_by_text("Ändringen är sparad (version 1).").wait_for()
    assert page.locator("#history ~ .table-wrap").get_by_text("Snabb viktuppgång").count() == 1
    assert scalar(
        db_url, "SELECT reason FROM rule_overrides WHERE patient_id = %s", world.a.patient_id
    ) == ("Snabb viktuppgång förra veckan")
    tab.axe()
    tab.shot("07-saved")

    # The follow-up, the last 90 days with today: 85 weighed days of 89 patient-days (4 days
    # without a reading; today is not over, so not a patient-day yet).
    page.get_by_role("link", name="Uppföljning").click()
    page.get_by_role("heading", name=re.compile("Programuppföljning")).wait_for()
    assert page.locator("#adherence").inner_text() == "96\u00a0%"
    # Opened in the period, today's too: the SpO2 alert (acknowledged after 30 min, resolved
    # after 3 h), the weight trend (opened 2 d 3 h ago, acknowledged above) and the world's
    # alert, opened today and resolved above within a minute.
    assert page.locator("#alerts").inner_text() == "3"
    assert page.locator("#median-resolve").inner_text() == "1 tim 30 min"
    # The dates as a Swedish page writes them, whatever the browser's own format.
    today = seeded.today.isoformat()
    assert page.get_by_label("Till och med").input_value() == today
    assert page.get_by_label("Till och med").get_attribute("type") == "text"
    assert re.fullmatch(r"\d+ \w+ \d{4} \u2013 \d+ \w+ \d{4} \(90 dagar\)\.", _period(page))
    tab.axe()
    tab.shot("08-follow-up")
    page.get_by_role("button", name="English").click()
    page.get_by_role("heading", name=re.compile("Programme follow-up")).wait_for()
    assert page.locator("#adherence").inner_text() == "96%"
    assert page.get_by_label("Until (included)").input_value() == today
    assert _period(page).endswith("(90 days).")
    tab.axe()
    tab.shot("09-follow-up-en")
    context.close()


def _period(page: Any) -> str:
    return str(page.locator("#period").inner_text())


def _error_beside(page: Any, field_id: str) -> str:
    """The message the field is described by: visible, right after the field and just below
    it, in the same column; the field says it is invalid. Returns the message's text."""
    from playwright.sync_api import expect  # noqa: PLC0415 (optional: dev only)

    field = page.locator(f"#{field_id}")
    message = page.locator(f"#{field_id}-error")
    expect(message).to_be_visible()
    expect(field).to_have_attribute("aria-invalid", "true")
    described = (field.get_attribute("aria-describedby") or "").split()
    assert f"{field_id}-error" in described, described
    assert field.evaluate("e => e.nextElementSibling && e.nextElementSibling.id") == (
        f"{field_id}-error"
    )
    text = message.inner_text()
    expect(field).to_have_accessible_description(re.compile(re.escape(text)))
    at, below = field.bounding_box(), message.bounding_box()
    assert at is not None
    assert below is not None
    assert 0 <= below["y"] - (at["y"] + at["height"]) <= 24, (at, below)
    assert abs(below["x"] - at["x"]) <= 16, (at, below)
    return text


def test_a_clinician_finds_a_threshold_error_beside_the_field(
    server: ThreadedServer, browser: Any, seeded: Seeded, db_url: str, shots: Path
) -> None:
    world, base = seeded.world, server.base_url
    context = browser.new_context(viewport=LANDSCAPE, locale="sv-SE")
    tab = Tab(context.new_page(), shots)
    tab.refusals_expected = True
    page = tab.page
    sign_in(tab, base, world.a.tokens["clinician"])
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()
    page.goto(f"{base}/console/patients/{world.a.patient_id}/thresholds")
    # The rules in plain Swedish: what each does, no developer notes, no rule ids.
    rules = page.get_by_role("region", name="Gällande regler")
    rules.get_by_role("columnheader", name="Vad regeln gör").wait_for()
    table = rules.inner_text()
    for note in ("[T]", "off in v2", "unexplained", "weight_trend", "spo2_urgent"):
        assert note not in table, note
    trend = rules.get_by_role("row", name=re.compile("Vikt: stigande trend"))
    assert "Jämför medelvärdet för vikt under de senaste 3 dagarna" in trend.inner_text()
    tab.axe()
    tab.shot("10-thresholds-rules")
    page.locator("#edit-heart_rate").click()
    assert page.locator("#edit legend").first.inner_text() == "Puls: gränsvärden"
    page.get_by_label("Regeln är på").check()

    # Out of range: the message is beside the field, in Swedish, with the allowed range.
    page.get_by_label("Gul, övre gräns (slag/min)").fill("400")
    page.get_by_role("button", name=re.compile("Förhandsgranska")).click()
    assert _error_beside(page, "field-yellow_high") == "Ange ett värde mellan 20 och 300 slag/min."
    page.wait_for_function("() => document.activeElement.id === 'field-yellow_high'")
    assert page.get_by_label("Gul, övre gräns (slag/min)").input_value() == "400"
    assert page.get_by_label("Regeln är på").is_checked()
    page.locator("#messages").get_by_text("Något behöver rättas").wait_for()
    assert "/thresholds?rule=heart_rate" in page.url  # answered in place, by htmx
    tab.axe()
    tab.shot("11-threshold-out-of-range")

    # A red limit inside the yellow band: its own message, beside the red limit.
    page.get_by_label("Gul, övre gräns (slag/min)").fill("100")
    page.get_by_label("Röd, nedre gräns (slag/min)").fill("55")
    page.get_by_role("button", name=re.compile("Förhandsgranska")).click()
    page.locator("#field-red_low-error").wait_for()
    assert _error_beside(page, "field-red_low") == (
        "Röd nedre gräns får inte vara högre än gul nedre gräns (50 slag/min)."
    )
    assert page.locator("#field-yellow_high-error").count() == 0
    for words in ("Value error", "validation error", "pydantic", "red.low", "threshold rule"):
        assert words not in page.content()
    tab.axe()
    tab.shot("12-threshold-red-inside-yellow")

    # Put right, previewed, saved with a blank reason: the reason's message beside it.
    page.get_by_label("Röd, nedre gräns (slag/min)").fill("45")
    page.get_by_role("button", name=re.compile("Förhandsgranska")).click()
    page.locator("#preview-heading").wait_for()
    assert page.locator("#edit .field-error").count() == 0
    page.get_by_label("Skäl till ändringen").fill("   ")
    page.get_by_role("button", name="Spara ändringen").click()
    page.locator("#reason-error").wait_for()
    assert _error_beside(page, "reason") == "Skriv varför regeln ändras."
    assert page.get_by_label("Röd, nedre gräns (slag/min)").input_value() == "45"
    assert scalar(db_url, "SELECT count(*) FROM rule_overrides") == 0
    tab.axe()
    tab.shot("13-threshold-reason-missing")
    context.close()


def test_without_javascript_the_page_comes_back_with_the_error_beside_the_field(
    server: ThreadedServer, browser: Any, seeded: Seeded, shots: Path
) -> None:
    world, base = seeded.world, server.base_url
    context = browser.new_context(viewport=PORTRAIT, locale="en-GB", java_script_enabled=False)
    tab = Tab(context.new_page(), shots)
    page = tab.page
    page.goto(f"{base}/console/sign-in")
    page.get_by_role("button", name="English").click()
    page.get_by_label("API token").fill(world.a.tokens["clinician"])
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("heading", name=re.compile("Worklist")).wait_for()
    page.goto(f"{base}/console/patients/{world.a.patient_id}/thresholds?rule=weight_gain_3d#edit")
    page.get_by_label("Days").fill("40")
    page.get_by_role("button", name=re.compile("Preview")).click()
    page.locator("#field-window_days-error").wait_for()
    assert "/thresholds/preview" in page.url  # a plain form post, the whole page again
    assert _error_beside(page, "field-window_days") == "Enter a whole number between 1 and 31."
    assert page.get_by_label("Days").input_value() == "40"
    context.close()  # axe runs in the page: with JavaScript off it cannot


def test_a_late_arriving_red_finding_shows_when_it_was_measured(
    server: ThreadedServer, browser: Any, seeded: Seeded, db_url: str, shots: Path
) -> None:
    """A red systolic 79 mmHg measured ten days ago, whose alert opened just now (a backlog):
    the worklist card and the patient page show the measured time and mark it as arrived
    late, in Chromium, with axe."""
    world, base = seeded.world, server.base_url
    measured = datetime.combine(seeded.today - timedelta(days=10), time(7, 35), TZ)
    with connect(db_url) as conn, conn.transaction():
        alert_id = add_late_systolic(
            conn,
            world.a.patient_id,
            measured_at=measured,
            opened_at=datetime.now(UTC) - timedelta(seconds=5),
        )
    context = browser.new_context(viewport=LANDSCAPE, locale="sv-SE")
    tab = Tab(context.new_page(), shots)
    page = tab.page
    sign_in(tab, base, world.a.tokens["nurse"])
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()
    card = page.locator(f"#alert-{alert_id}")
    stamp = measured.strftime("%Y-%m-%d %H:%M")
    assert card.locator("time[data-measured]").inner_text() == stamp
    assert card.locator("[data-late]").inner_text() == "sen ankomst"
    assert card.locator(".age time").inner_text() == "nyss"
    tab.axe()
    tab.shot("20-worklist-late-arrival")
    card.locator("h3 a").click()
    detail = page.locator("#alert-detail")
    detail.wait_for()
    assert stamp in detail.inner_text()
    assert detail.locator("[data-late]").first.inner_text() == "sen ankomst"
    tab.axe()
    tab.shot("21-patient-late-arrival")
    context.close()
