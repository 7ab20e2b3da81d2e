"""The relying party's checks of what the provider answers: an ID token from the real provider
is accepted with its own nonce and client, refused with another's; a token signed by a key
the provider did not publish is refused; the HSA claims' decision, case by case."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey

from hemkoll.api.oidc_client import OidcClient, OidcError
from hemkoll.api.staff_claims import Accepted, ClaimNames, Member, Refused, decide
from tests.oidc import accounts
from tests.oidc.conftest import Provider, login_at_provider

REDIRECT = "http://127.0.0.1:9/console/oidc/callback"  # never fetched: the test stops there


@pytest.fixture(scope="module")
def issued(provider: Provider) -> dict[str, Any]:
    """A code flow through the provider for nurse-a, up to its ID token."""
    client = OidcClient(provider.config())
    auth = client.authorization(REDIRECT)
    with httpx.Client(timeout=30.0) as http:
        response = http.get(auth.url)
        while True:
            if response.status_code == 200:
                response = login_at_provider(http, response, "nurse-a")
                continue
            location = str(response.url.join(response.headers["location"]))
            if location.startswith(REDIRECT):
                break
            response = http.get(location)
    code = httpx.URL(location).params["code"]
    tokens = client._token(code, auth.code_verifier, REDIRECT)
    client.close()
    return {"tokens": tokens, "nonce": auth.nonce}


def test_the_providers_id_token_checks_out_with_its_nonce_and_audience(
    provider: Provider, issued: dict[str, Any]
) -> None:
    client = OidcClient(provider.config())
    claims = client.verify_id_token(
        issued["tokens"]["id_token"],
        nonce=issued["nonce"],
        access_token=issued["tokens"]["access_token"],
        now=datetime.now(UTC),
    )
    assert claims["employeeHsaId"] == accounts.NURSE_A
    assert claims["iss"] == provider.issuer


@pytest.mark.parametrize(
    ("change", "nonce", "now"),
    [
        ({}, "another-nonce", None),  # a replayed token from another sign-in
        ({"client_id": "another-client"}, None, None),  # issued to another client
        ({"issuer": "http://127.0.0.1:1/not-the-issuer"}, None, None),  # another issuer
        ({}, None, datetime(2100, 1, 1, tzinfo=UTC)),  # long expired
    ],
)
def test_an_id_token_for_another_sign_in_client_issuer_or_time_is_refused(
    provider: Provider,
    issued: dict[str, Any],
    change: dict[str, str],
    nonce: str | None,
    now: datetime | None,
) -> None:
    client = OidcClient(provider.config())
    if "issuer" in change:  # the keys are the real provider's; only the expected issuer differs
        client.metadata()
        client.config = provider.config(**change)
    elif change:
        client.config = provider.config(**change)
    with pytest.raises(OidcError):
        client.verify_id_token(
            issued["tokens"]["id_token"],
            nonce=nonce or issued["nonce"],
            access_token=None,
            now=now or datetime.now(UTC),
        )


def test_an_id_token_signed_with_a_key_the_provider_did_not_publish_is_refused(
    provider: Provider,
) -> None:
    forger = RSAKey.generate_key(2048, parameters={"kid": "forged"})
    now = int(datetime.now(UTC).timestamp())
    claims = {
        "iss": provider.issuer,
        "aud": accounts.CLIENT_ID,
        "sub": "nurse-a",
        "iat": now,
        "exp": now + 300,
        "nonce": "n",
        "employeeHsaId": accounts.NURSE_A,
    }
    token = jwt.encode({"alg": "RS256", "kid": "forged"}, claims, forger)
    client = OidcClient(provider.config())
    with pytest.raises(OidcError):
        client.verify_id_token(token, nonce="n", access_token=None, now=datetime.now(UTC))
    unsigned = jwt.encode({"alg": "none"}, claims, None, algorithms=["none"])
    with pytest.raises(OidcError):
        client.verify_id_token(unsigned, nonce="n", access_token=None, now=datetime.now(UTC))


NAMES = ClaimNames()
CENTRE_A, CENTRE_B = uuid.uuid4(), uuid.uuid4()
UNITS = {accounts.UNIT_A: CENTRE_A, accounts.UNIT_B: CENTRE_B}
NURSE = Member(uuid.uuid4(), CENTRE_A, active=True)
REGION = Member(uuid.uuid4(), None, active=True)


def _claims(*assignments: tuple[str, str]) -> dict[str, object]:
    return {
        "employeeHsaId": accounts.NURSE_A,
        "commissions": [
            {"healthCareUnitHsaId": unit, "commissionPurpose": purpose}
            for unit, purpose in assignments
        ],
    }


@pytest.mark.parametrize(
    ("claims", "member", "expected"),
    [
        (_claims((accounts.UNIT_A, accounts.CARE)), NURSE, CENTRE_A),
        # Only the assignment at her own unit counts, whatever else she holds.
        (
            _claims((accounts.UNIT_B, accounts.CARE), (accounts.UNIT_A, accounts.CARE)),
            NURSE,
            CENTRE_A,
        ),
        (_claims((accounts.UNIT_B, accounts.CARE)), NURSE, "no_assignment"),
        (_claims((accounts.UNIT_ELSEWHERE, accounts.CARE)), NURSE, "no_assignment"),
        (_claims((accounts.UNIT_A, "Statistik")), NURSE, "purpose"),
        (_claims((accounts.UNIT_A, "")), NURSE, "purpose"),
        (_claims((accounts.UNIT_A, accounts.CARE)), None, "unknown_person"),
        (
            _claims((accounts.UNIT_A, accounts.CARE)),
            Member(NURSE.id, CENTRE_A, False),
            "unknown_person",
        ),
        ({"commissions": []}, NURSE, "unknown_person"),
        ({"employeeHsaId": accounts.NURSE_A, "commissions": "not a list"}, NURSE, "no_assignment"),
        # A region's administrator keeps the region's scope, with a care assignment anywhere known.
        (_claims((accounts.UNIT_B, accounts.CARE)), REGION, None),
    ],
)
def test_the_claims_decide_the_member_her_unit_and_purpose(
    claims: dict[str, object], member: Member | None, expected: object
) -> None:
    decision = decide(claims, NAMES, member, UNITS, (accounts.CARE,))
    if isinstance(expected, str):
        assert isinstance(decision, Refused)
        assert decision.reason == expected
    else:
        assert isinstance(decision, Accepted)
        assert decision.health_centre_id == expected


def test_the_provider_and_its_claim_names_come_from_the_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from pydantic import ValidationError  # noqa: PLC0415

    from hemkoll.cli.services import oidc_config  # noqa: PLC0415
    from hemkoll.settings import Settings  # noqa: PLC0415

    assert oidc_config(Settings()) is None  # unset: the development sign-in
    monkeypatch.setenv("HEMKOLL_OIDC_ISSUER", "https://idp.example.se/oidc")
    with pytest.raises(ValidationError, match="CLIENT_ID"):
        Settings()
    monkeypatch.setenv("HEMKOLL_OIDC_CLIENT_ID", "hemkoll")
    monkeypatch.setenv("HEMKOLL_OIDC_CLIENT_SECRET", "s3cret")
    monkeypatch.setenv("HEMKOLL_OIDC_CLAIM_PURPOSE", "purpose")
    monkeypatch.setenv("HEMKOLL_OIDC_CARE_PURPOSES", "Vård och behandling, Egenkontroll")
    settings = Settings()
    assert "s3cret" not in repr(settings)
    config = oidc_config(settings)
    assert config is not None
    assert (config.issuer, config.client_id, config.client_secret) == (
        "https://idp.example.se/oidc",
        "hemkoll",
        "s3cret",
    )
    assert config.claims == ClaimNames(purpose="purpose")
    assert config.purposes == ("Vård och behandling", "Egenkontroll")
    assert "s3cret" not in repr(config)
