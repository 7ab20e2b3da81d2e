"""Settings from the environment (prefix ``HEMKOLL_``), built once in the entry point.

Nothing here connects to anything; the command that runs builds ``Settings`` and passes each
component the part it needs.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal
from urllib.parse import unquote, urlsplit

from pydantic import Field, SecretStr, field_validator, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

DEFAULT_DATABASE_URL = "postgresql://postgres@127.0.0.1:5432/hemkoll"
DEFAULT_MQTT_URL = "mqtt://127.0.0.1:1883"
# Settled notifications (delivered, or given up on) are deleted after this many days. 90: a
# quarter covers any delivery question or endpoint incident a centre raises (an alert's
# delivery log in the console and the API), and the outbox holds 90 days' volume (the nation:
# about 60 GiB, where keeping everything grows it by 250 GiB a year: docs/scaling.md). The
# patient record is the alert and its events, kept ten years; a notification was a message
# about it. An open alert's notifications are kept whatever their age.
DEFAULT_NOTIFICATION_RETENTION_DAYS = 90


@dataclass(frozen=True)
class MqttEndpoint:
    host: str
    port: int
    tls: bool
    username: str | None
    password: str | None

    def __repr__(self) -> str:  # never print the password
        return f"MqttEndpoint(host={self.host!r}, port={self.port}, tls={self.tls})"


def parse_mqtt_url(url: str) -> MqttEndpoint:
    """``mqtt://[user:password@]host[:port]`` (1883) or ``mqtts://...`` (TLS, 8883)."""
    parts = urlsplit(url)
    if parts.scheme not in {"mqtt", "mqtts"}:
        raise ValueError(f"MQTT URL scheme must be mqtt or mqtts, not {parts.scheme!r}")
    if not parts.hostname:
        raise ValueError("MQTT URL has no host")
    if parts.path not in {"", "/"} or parts.query:
        raise ValueError("MQTT URL takes no path or query; set the topic prefix separately")
    tls = parts.scheme == "mqtts"
    return MqttEndpoint(
        host=parts.hostname,
        port=parts.port or (8883 if tls else 1883),
        tls=tls,
        username=unquote(parts.username) if parts.username else None,
        password=unquote(parts.password) if parts.password else None,
    )


class Settings(BaseSettings):
    # An empty variable means unset (its default): compose passes every setting it knows, as
    # ${NAME:-}, whether or not the operator's .env gives it a value.
    model_config = SettingsConfigDict(env_prefix="HEMKOLL_", frozen=True, env_ignore_empty=True)

    database_url: str = Field(
        default=DEFAULT_DATABASE_URL,
        description="PostgreSQL connection URL (libpq syntax).",
    )
    mqtt_url: str = Field(
        default=DEFAULT_MQTT_URL,
        description="Broker URL: mqtt://[user:password@]host:port, or mqtts:// for TLS.",
    )
    mqtt_topic_prefix: str = Field(
        default="hemkoll",
        description="First topic level(s) of every hemkoll topic.",
    )
    mqtt_client_id: str = Field(
        default="hemkoll-ingest",
        description="Client id of the ingest service; stable so its persistent session "
        "survives restarts. Give every ingest worker its own.",
    )
    ingest_share_group: str | None = Field(
        default=None,
        description="Run ingest as a member of this MQTT 5 shared-subscription group "
        "($share/<group>/...), so that several workers share the readings; each member then "
        "uses a clean session and a client id of its own (docs/scaling.md). Unset: one worker "
        "with a persistent session.",
    )
    dispatch_client_id: str = Field(
        default="hemkoll-dispatch",
        description="Client id of the dispatcher (device messages); give every replica its own.",
    )
    mqtt_ca_file: str | None = Field(
        default=None, description="CA certificate for mqtts:// (system store when unset)."
    )
    public_url: str = Field(
        default="http://127.0.0.1:8000",
        description="Address at which staff reach the API; notifications link to alerts there.",
    )
    metrics_port: int | None = Field(
        default=None,
        ge=1,
        le=65535,
        description="Port of the worker's /metrics and /healthz (ingest, rules, dispatch); "
        "unset: none. The API serves its own on its port.",
    )
    metrics_host: str = Field(
        default="127.0.0.1", description="Address the workers' metrics endpoint listens on."
    )
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = "INFO"
    notification_retention_days: int = Field(
        default=DEFAULT_NOTIFICATION_RETENTION_DAYS,
        ge=1,
        description="Days after which the dispatcher deletes notifications that were delivered "
        "or given up on (expired, gone), with their attempts; never a pending one, nor one of "
        "an alert still open (docs/operations.md, Retention).",
    )
    # The API's limits per caller (docs/api.md, "Limits"); defaults in hemkoll.api.guards.
    api_rate_per_second: int = Field(
        default=50,
        ge=1,
        description="Requests one caller (token or address) may make to the API per second.",
    )
    api_rate_per_minute: int = Field(
        default=600,
        ge=1,
        description="Requests one caller may make to the API per minute.",
    )
    api_max_body_bytes: int = Field(
        default=1024 * 1024,
        ge=1024,
        description="The largest request body the API reads (413 past it).",
    )

    # Staff sign-in to the console with OpenID Connect (docs/operations.md, "Staff sign-in").
    oidc_issuer: str | None = Field(
        default=None,
        description="The identity provider's issuer URL (its discovery document is at "
        "<issuer>/.well-known/openid-configuration). Unset: the console takes a pasted API "
        "token instead (development only).",
    )
    oidc_client_id: str | None = Field(default=None, description="hemkoll's client id there.")
    oidc_client_secret: SecretStr | None = Field(
        default=None, description="hemkoll's client secret there."
    )
    oidc_scope: str = Field(
        default="openid profile",
        description="Scopes asked for; they must release the HSA claims below.",
    )
    oidc_claim_employee_hsa_id: str = Field(
        default="employeeHsaId", description="The claim with the person's HSA employee id."
    )
    oidc_claim_assignments: str = Field(
        default="commissions",
        description="The claim with the person's assignments (medarbetaruppdrag): a list of "
        "objects with the three claims below.",
    )
    oidc_claim_assignment_hsa_id: str = Field(
        default="commissionHsaId", description="An assignment's own HSA id."
    )
    oidc_claim_unit_hsa_id: str = Field(
        default="healthCareUnitHsaId",
        description="An assignment's care unit (matched to health_centres.hsa_id).",
    )
    oidc_claim_purpose: str = Field(
        default="commissionPurpose", description="An assignment's purpose."
    )
    oidc_care_purposes: str = Field(
        default="Vård och behandling",
        description="Assignment purposes that may open the console, separated by commas.",
    )

    @model_validator(mode="after")
    def _oidc_complete(self) -> Settings:
        if self.oidc_issuer and not (self.oidc_client_id and self.oidc_client_secret):
            raise ValueError("HEMKOLL_OIDC_ISSUER needs HEMKOLL_OIDC_CLIENT_ID and _SECRET")
        if self.oidc_issuer and not urlsplit(self.oidc_issuer).scheme.startswith("http"):
            raise ValueError("HEMKOLL_OIDC_ISSUER must be an http(s) URL")
        return self

    @property
    def oidc_purposes(self) -> tuple[str, ...]:
        return tuple(p.strip() for p in self.oidc_care_purposes.split(",") if p.strip())

    @field_validator("mqtt_url")
    @classmethod
    def _valid_mqtt_url(cls, value: str) -> str:
        parse_mqtt_url(value)
        return value

    @field_validator("mqtt_topic_prefix")
    @classmethod
    def _valid_prefix(cls, value: str) -> str:
        if not value or any(c in value for c in "+#\0") or value.startswith(("/", "$")):
            raise ValueError("topic prefix must be non-empty, without + # or a leading / or $")
        return value.rstrip("/")

    @field_validator("ingest_share_group")
    @classmethod
    def _valid_share_group(cls, value: str | None) -> str | None:
        if not value:  # an empty variable means unset
            return None
        if any(c in value for c in "/+#\0"):
            raise ValueError("share group must be one topic level, without / + or #")
        return value

    @field_validator("public_url")
    @classmethod
    def _valid_public_url(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in {"http", "https"} or not parts.hostname or parts.query:
            raise ValueError("public URL must be http(s)://host[:port][/path] without a query")
        return value.rstrip("/")

    @property
    def mqtt(self) -> MqttEndpoint:
        return parse_mqtt_url(self.mqtt_url)
