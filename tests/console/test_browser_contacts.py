"""The contact log and the summary for the patient record in a real browser (Chromium, as
tests/console/test_browser.py): a nurse adds a call to the contact log with the keyboard and
sees it; resolves an alert on the worklist with a note, which then shows in the log; opens the
summary, whose print media hides the console's navigation and fits one A4 page. Every step is
checked with axe-core and against the Content-Security-Policy; screenshots 40- and 41-."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from hemkoll.simulator.receiver.server import ThreadedServer
from tests.console.browser import LANDSCAPE, PORTRAIT, Tab, scalar, sign_in
from tests.console.conftest import Seeded

# A4 at 96 dpi (210 x 297 mm), less the print style sheet's 12 mm margins on each side.
MM = 96 / 25.4
A4_WIDTH_PX = round((210 - 2 * 12) * MM)
A4_HEIGHT_PX = (297 - 2 * 12) * MM


def test_a_nurse_logs_a_call_resolves_with_a_note_and_prints_the_summary(
    server: ThreadedServer, browser: Any, seeded: Seeded, db_url: str, shots: Path
) -> None:
    world, base = seeded.world, server.base_url
    context = browser.new_context(viewport=PORTRAIT, locale="sv-SE")
    tab = Tab(context.new_page(), shots)
    page = tab.page
    sign_in(tab, base, world.a.tokens["nurse"])
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()

    # The patient page's contact log: a call, by keyboard only, saved in place.
    page.goto(f"{base}/console/patients/{world.a.patient_id}")
    log = page.locator("#contact-log")
    kind = log.get_by_label("Typ")
    kind.focus()
    kind.select_option("call_in")
    page.keyboard.press("Tab")  # the date: today, in the patient's time
    assert page.evaluate("() => document.activeElement.id") == "contact-date"
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "contact-time"
    page.keyboard.press("Tab")
    page.keyboard.type("Dottern ringde: mamma är andfådd i trappor.")
    page.keyboard.press("Tab")
    assert page.evaluate("() => document.activeElement.id") == "contact-save"
    page.keyboard.press("Enter")
    page.locator("#messages").get_by_text("Sparat i kontaktloggen.").wait_for()
    entry = page.locator("#contact-log .contact-list li").first
    entry.get_by_text("Samtal från patienten").wait_for()
    assert "andfådd i trappor" in entry.inner_text()
    page.wait_for_function("() => document.activeElement.id === 'contact-log-heading'")
    assert scalar(db_url, "SELECT kind FROM contact_log") == "call_in"
    tab.axe()
    page.locator("#contact-log").scroll_into_view_if_needed()
    tab.shot("40-contact-log")

    # A form refused: the message beside the field, focus on it, nothing saved.
    tab.refusals_expected = True
    page.locator("#contact-text").fill("Ringde.")
    page.locator("#contact-time").fill("25:99")
    page.locator("#contact-save").click()
    page.locator("#contact-time-error").wait_for()
    assert page.locator("#contact-time").get_attribute("aria-invalid") == "true"
    assert page.locator("#contact-text").input_value() == "Ringde."
    tab.axe()
    tab.refusals_expected = False
    assert scalar(db_url, "SELECT count(*) FROM contact_log") == 1

    # Resolve the weight-trend alert on the worklist with a note: it shows in the log.
    page.set_viewport_size(LANDSCAPE)
    page.goto(f"{base}/console/worklist")
    card = page.locator(f"#alert-{seeded.trend_alert}")
    card.locator("summary").focus()
    page.keyboard.press("Enter")
    card.get_by_label("Utfall").select_option("contacted_patient")
    card.get_by_label("Anteckning (frivillig)").fill("Ringde, äter mer salt. Ny vikt i morgon.")
    card.get_by_role("button", name="Avsluta larmet").click()
    page.locator("#messages").get_by_text("avslutat").wait_for()
    page.goto(f"{base}/console/patients/{world.a.patient_id}")
    newest = page.locator("#contact-log .contact-list li").first
    newest.get_by_text("Ringde, äter mer salt").wait_for()
    assert "Samtal till patienten" in newest.inner_text()
    assert newest.get_by_role("link", name=re.compile("Om larmet")).count() == 1
    tab.axe()

    # The summary: on screen with its print button, printed without the frame, on one A4 page.
    page.get_by_role("link", name="Sammanfattning för journalen").click()
    page.get_by_role("heading", name="Sammanfattning PA-0001").wait_for()
    page.get_by_role("button", name="Skriv ut / spara som PDF").wait_for()
    assert "andfådd i trappor" in page.locator("main").inner_text()
    tab.axe()
    # A short viewport: the document is then as tall as its content, not the window.
    page.set_viewport_size({"width": A4_WIDTH_PX, "height": 200})
    page.emulate_media(media="print")
    assert not page.locator("header.top").is_visible()
    assert not page.get_by_role("navigation").first.is_visible()
    assert not page.get_by_role("button", name="Skriv ut / spara som PDF").is_visible()
    assert page.get_by_text("Vägd ").is_visible()
    height = page.evaluate("() => document.documentElement.scrollHeight")
    assert height <= A4_HEIGHT_PX, f"{height} px printed is more than one A4 page"
    tab.shot("41-summary-print")
    # And the browser's own PDF of it (what "Spara som PDF" makes) is one page.
    pdf = page.pdf(format="A4", prefer_css_page_size=True)
    assert len(re.findall(rb"/Type\s*/Page[^s]", pdf)) == 1
    page.emulate_media(media="screen")
    assert tab.csp == []
    context.close()
