"""Settings come from HEMKOLL_* variables; the MQTT URL is parsed strictly."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from hemkoll.settings import Settings, parse_mqtt_url


def test_mqtt_url_forms() -> None:
    plain = parse_mqtt_url("mqtt://broker.example:1884")
    assert (plain.host, plain.port, plain.tls, plain.username) == (
        "broker.example",
        1884,
        False,
        None,
    )
    secure = parse_mqtt_url("mqtts://ingest:p%40ss@broker.example")
    assert (secure.port, secure.tls, secure.username, secure.password) == (
        8883,
        True,
        "ingest",
        "p@ss",
    )
    assert "p@ss" not in repr(secure)


@pytest.mark.parametrize(
    "url", ["http://broker:1883", "mqtt://", "mqtt://broker/topic", "mqtt://broker?x=1"]
)
def test_bad_mqtt_urls_are_refused(url: str) -> None:
    with pytest.raises(ValueError, match="MQTT URL"):
        parse_mqtt_url(url)


def test_settings_read_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HEMKOLL_MQTT_TOPIC_PREFIX", "region/hemkoll/")
    monkeypatch.setenv("HEMKOLL_DATABASE_URL", "postgresql://db/hk")
    settings = Settings()
    assert settings.mqtt_topic_prefix == "region/hemkoll"
    assert settings.database_url == "postgresql://db/hk"
    monkeypatch.setenv("HEMKOLL_MQTT_TOPIC_PREFIX", "bad/+/prefix")
    with pytest.raises(ValidationError):
        Settings()


def test_an_empty_variable_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    """As compose passes them (${NAME:-}): the defaults, and no identity provider."""
    for name in ("OIDC_ISSUER", "OIDC_CLIENT_ID", "OIDC_SCOPE", "API_RATE_PER_SECOND"):
        monkeypatch.setenv(f"HEMKOLL_{name}", "")
    monkeypatch.setenv("HEMKOLL_OIDC_CLIENT_SECRET", "change-me-oidc-client-secret")
    settings = Settings()
    assert settings.oidc_issuer is None
    assert settings.oidc_scope == Settings.model_fields["oidc_scope"].default
    assert settings.api_rate_per_second == Settings.model_fields["api_rate_per_second"].default
