"""In Chromium: a nurse opens the console, is sent to the region's identity provider, signs
in on its login form and lands in her own centre's worklist."""

from __future__ import annotations

import re
from typing import Any

from tests.console.browser import LANDSCAPE, TIMEOUT_MS, browser
from tests.oidc.conftest import PASSWORD, OidcWorld

__all__ = ["browser"]


def test_a_nurse_signs_in_through_the_providers_form_into_her_units_worklist(
    oidc_world: OidcWorld, browser: Any
) -> None:
    context = browser.new_context(viewport=LANDSCAPE, locale="sv-SE")
    # The provider's development form loads a web font; this machine has no way out.
    context.route(re.compile(r"^https://"), lambda route: route.abort())
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{oidc_world.base}/console/worklist")
    assert "/console/sign-in" in page.url
    page.get_by_role("link", name="Logga in via inloggningstjänsten").click()
    # The provider's own login form, on the provider's origin.
    page.wait_for_url(f"{oidc_world.provider.issuer}/interaction/**", wait_until="commit")
    page.locator("input[name=login]").fill("nurse-a")
    page.locator("input[name=password]").fill(PASSWORD)
    page.get_by_role("button", name="Sign-in").click()
    page.wait_for_url(f"{oidc_world.base}/console/worklist")
    page.get_by_role("heading", name=re.compile("Arbetslista")).wait_for()
    assert page.get_by_text("Anna Nurse").count() == 0  # the console's name for her is hemkoll's
    text = page.locator("main").inner_text()
    assert "PA-0001" in text
    assert "PB-0001" not in text
    assert "nurse Vårdcentral A" in page.locator("header.top").inner_text()
    context.close()
