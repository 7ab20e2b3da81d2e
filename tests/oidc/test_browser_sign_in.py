"""In Chromium: a nurse opens the console, is sent to the region's identity provider, signs
in on its login form and lands in her own centre's worklist; an administrator signs in the
same way and records an access-log review. Our pages are checked with axe on the way."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from tests.console.browser import LANDSCAPE, Tab, browser, shots
from tests.oidc.conftest import PASSWORD, OidcWorld

__all__ = ["browser", "shots"]


def through_provider(tab: Tab, world: OidcWorld, start: str, login: str) -> None:
    """From a console page that asks for a sign-in, through the provider's login form."""
    page = tab.page
    page.goto(f"{world.base}{start}")
    assert "/console/sign-in" in page.url
    tab.axe()
    page.get_by_role("link", name="Logga in via inloggningstjänsten").click()
    # The provider's own login form, on the provider's origin.
    page.wait_for_url(f"{world.provider.issuer}/interaction/**", wait_until="commit")
    page.locator("input[name=login]").fill(login)
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{world.base}{start}")
    tab.csp.clear()  # the provider's development page is not ours to check


def test_a_nurse_signs_in_through_the_providers_form_into_her_units_worklist(
    oidc_world: OidcWorld, browser: Any, shots: Path
) -> None:
    context = browser.new_context(viewport=LANDSCAPE, locale="sv-SE")
    # The provider's development form loads a web font; this machine has no way out.
    context.route(re.compile(r"^https://"), lambda route: route.abort())
    tab = Tab(context.new_page(), shots)
    through_provider(tab, oidc_world, "/console/worklist", "nurse-a")
    page = tab.page
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()
    text = page.locator("main").inner_text()
    assert "PA-0001" in text
    assert "PB-0001" not in text
    assert "nurse Vårdcentral A" in page.locator("header.top").inner_text()
    tab.axe()
    tab.shot("oidc-01-worklist")
    context.close()


def test_an_administrator_signs_in_and_reviews_the_access_log(
    oidc_world: OidcWorld, browser: Any, shots: Path
) -> None:
    context = browser.new_context(viewport=LANDSCAPE, locale="sv-SE")
    context.route(re.compile(r"^https://"), lambda route: route.abort())
    tab = Tab(context.new_page(), shots)
    through_provider(tab, oidc_world, "/console/access-review", "region-admin")
    page = tab.page
    page.get_by_role("heading", name="Granskning av åtkomstloggen").wait_for()
    tab.axe()
    page.get_by_label("Urval").select_option("random")
    page.get_by_role("button", name="Visa").click()
    page.get_by_role("heading", name="Granskning av åtkomstloggen").wait_for()
    page.get_by_role("button", name="Spara granskningen").click()
    page.get_by_text("Granskningen är sparad.").wait_for()
    tab.axe()
    tab.shot("oidc-02-access-review")
    context.close()
