"""Settings fragments every service composes into its own pydantic-settings class.

A service's class sets ``env_prefix`` (``MOTCUA_INTAKE_`` …); the Kafka, environment and topic-prefix variables
are shared by the whole suite and keep their own names (``KAFKA_BOOTSTRAP_SERVERS``, ``MOTCUA_ENV``,
``MOTCUA_TOPIC_PREFIX``).
"""

from __future__ import annotations

from enum import StrEnum
from typing import Literal

from pydantic import AliasChoices, Field, model_validator
from pydantic_settings import BaseSettings, SettingsConfigDict

from libs.common.privacy import KeyRing, Pseudonymizer


class Environment(StrEnum):
    DEVELOPMENT = "development"
    TEST = "test"
    PRODUCTION = "production"


PLACEHOLDER_SECRETS = frozenset({"", "change-me", "changeme", "secret", "dev-only-secret"})
# The key id MOTCUA_PSEUDONYM_KEY stands for when MOTCUA_PRIVACY_KEYS is not set.
LEGACY_KEY_ID = "k1"


class ServiceSettings(BaseSettings):
    """What every motcua service needs. Subclass with ``model_config = service_config("intake")``."""

    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "motcua"
    environment: Environment = Field(
        Environment.DEVELOPMENT, validation_alias=AliasChoices("MOTCUA_ENV", "environment")
    )
    database_url: str = "sqlite+aiosqlite:///var/motcua.db"
    database_pool_size: int = 10
    database_echo: bool = False
    kafka_bootstrap_servers: str = Field(
        "127.0.0.1:9092", validation_alias=AliasChoices("KAFKA_BOOTSTRAP_SERVERS", "kafka_bootstrap_servers")
    )
    topic_prefix: str = Field("motcua", validation_alias=AliasChoices("MOTCUA_TOPIC_PREFIX", "topic_prefix"))
    kafka_enabled: bool = Field(True, validation_alias=AliasChoices("MOTCUA_KAFKA_ENABLED", "kafka_enabled"))
    # Kafka security (libs/common/messaging/security.py); the same for every service of a deployment.
    kafka_security_protocol: Literal["PLAINTEXT", "SSL", "SASL_PLAINTEXT", "SASL_SSL"] = Field(
        "PLAINTEXT", validation_alias=AliasChoices("KAFKA_SECURITY_PROTOCOL", "kafka_security_protocol")
    )
    kafka_sasl_mechanism: Literal["SCRAM-SHA-512", "SCRAM-SHA-256", "PLAIN"] = Field(
        "SCRAM-SHA-512", validation_alias=AliasChoices("KAFKA_SASL_MECHANISM", "kafka_sasl_mechanism")
    )
    kafka_sasl_username: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SASL_USERNAME", "kafka_sasl_username")
    )
    kafka_sasl_password: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SASL_PASSWORD", "kafka_sasl_password")
    )
    kafka_ssl_cafile: str | None = Field(None, validation_alias=AliasChoices("KAFKA_SSL_CAFILE", "kafka_ssl_cafile"))
    kafka_ssl_certfile: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SSL_CERTFILE", "kafka_ssl_certfile")
    )
    kafka_ssl_keyfile: str | None = Field(None, validation_alias=AliasChoices("KAFKA_SSL_KEYFILE", "kafka_ssl_keyfile"))
    kafka_ssl_key_password: str | None = Field(
        None, validation_alias=AliasChoices("KAFKA_SSL_KEY_PASSWORD", "kafka_ssl_key_password")
    )
    relay_batch_size: int = 500
    relay_poll_seconds: float = 0.5
    consumer_batch_size: int = 1000
    # How often committed audit rows are chained (libs/common/audit.py); 0 turns the sealer off (tests seal by hand).
    audit_seal_seconds: float = Field(
        1.0, validation_alias=AliasChoices("MOTCUA_AUDIT_SEAL_SECONDS", "audit_seal_seconds")
    )
    log_level: str = Field("INFO", validation_alias=AliasChoices("MOTCUA_LOG_LEVEL", "log_level"))
    log_json: bool = Field(True, validation_alias=AliasChoices("MOTCUA_LOG_JSON", "log_json"))
    # JSON object: SHA-256 hex digest of a key -> {"subject", "name", "roles": [...],
    # "agencies": [...] | "province-wide", "client_id"}. Development adds the dev-* demo keys (docs/security.md).
    api_keys: str = Field("{}", validation_alias=AliasChoices("MOTCUA_API_KEYS", "api_keys"))
    # OpenID Connect: bearer tokens from this issuer are accepted beside API keys (docs/security.md#openid-connect).
    oidc_issuer: str | None = Field(None, validation_alias=AliasChoices("MOTCUA_OIDC_ISSUER", "oidc_issuer"))
    oidc_audience: str = Field("motcua", validation_alias=AliasChoices("MOTCUA_OIDC_AUDIENCE", "oidc_audience"))
    # Default: the jwks_uri of the issuer's discovery document.
    oidc_jwks_url: str | None = Field(None, validation_alias=AliasChoices("MOTCUA_OIDC_JWKS_URL", "oidc_jwks_url"))
    oidc_algorithms: list[str] = Field(
        ["RS256", "PS256", "ES256"], validation_alias=AliasChoices("MOTCUA_OIDC_ALGORITHMS", "oidc_algorithms")
    )
    oidc_leeway_seconds: int = Field(
        30, ge=0, le=300, validation_alias=AliasChoices("MOTCUA_OIDC_LEEWAY_SECONDS", "oidc_leeway_seconds")
    )
    # Dotted paths into the token's claims (Keycloak keeps realm roles in realm_access.roles).
    oidc_roles_claim: str = Field(
        "realm_access.roles", validation_alias=AliasChoices("MOTCUA_OIDC_ROLES_CLAIM", "oidc_roles_claim")
    )
    oidc_agencies_claim: str = Field(
        "motcua_agencies", validation_alias=AliasChoices("MOTCUA_OIDC_AGENCIES_CLAIM", "oidc_agencies_claim")
    )
    oidc_name_claim: str = Field("name", validation_alias=AliasChoices("MOTCUA_OIDC_NAME_CLAIM", "oidc_name_claim"))
    oidc_client_claim: str = Field(
        "azp", validation_alias=AliasChoices("MOTCUA_OIDC_CLIENT_CLAIM", "oidc_client_claim")
    )
    # The browser sign-in (authorization code + PKCE) as this client; a public client needs no secret.
    oidc_client_id: str = Field("motcua-web", validation_alias=AliasChoices("MOTCUA_OIDC_CLIENT_ID", "oidc_client_id"))
    oidc_client_secret: str | None = Field(
        None, validation_alias=AliasChoices("MOTCUA_OIDC_CLIENT_SECRET", "oidc_client_secret")
    )
    # Signs the browser session and sign-in cookies; every service of a deployment shares it.
    session_secret: str = Field(
        "dev-only-secret", validation_alias=AliasChoices("MOTCUA_SESSION_SECRET", "session_secret")
    )
    session_max_age_seconds: int = Field(
        8 * 3600, ge=60, validation_alias=AliasChoices("MOTCUA_SESSION_MAX_AGE_SECONDS", "session_max_age_seconds")
    )
    # Largest request body a route accepts unless it declares its own cap (libs/common/limits.py).
    body_limit_bytes: int = Field(
        1024 * 1024, ge=1024, validation_alias=AliasChoices("MOTCUA_BODY_LIMIT_BYTES", "body_limit_bytes")
    )
    # Token bucket per client address on the public, unauthenticated routes.
    public_rate_per_minute: float = Field(
        30, gt=0, validation_alias=AliasChoices("MOTCUA_PUBLIC_RATE_PER_MINUTE", "public_rate_per_minute")
    )
    public_rate_burst: int = Field(
        10, ge=1, validation_alias=AliasChoices("MOTCUA_PUBLIC_RATE_BURST", "public_rate_burst")
    )
    # Keys of personal data off the bus (libs/common/privacy.py, docs/security.md#personal-data): a JSON object of
    # key id -> secret, and the id of the key new pseudonyms and sealed values use. Every service of a deployment
    # shares them: a consumer upcasting an old event must give the pseudonym the producer gives.
    privacy_keys: str | None = Field(None, validation_alias=AliasChoices("MOTCUA_PRIVACY_KEYS", "privacy_keys"))
    privacy_key_id: str = Field("k1", validation_alias=AliasChoices("MOTCUA_PRIVACY_KEY_ID", "privacy_key_id"))
    # The single key of earlier releases; without MOTCUA_PRIVACY_KEYS it is key id k1 (so the pseudonyms reporting
    # derived from it stay the same).
    pseudonym_key: str = Field(
        "dev-only-secret", validation_alias=AliasChoices("MOTCUA_PSEUDONYM_KEY", "pseudonym_key")
    )

    def key_ring(self) -> KeyRing:
        """The deployment's privacy keys: ``MOTCUA_PRIVACY_KEYS``, else ``MOTCUA_PSEUDONYM_KEY`` as key ``k1``."""
        if self.privacy_keys:
            return KeyRing.from_config(self.privacy_keys, self.privacy_key_id)
        return KeyRing({LEGACY_KEY_ID: self.pseudonym_key.encode()}, LEGACY_KEY_ID)

    def pseudonymizer(self) -> Pseudonymizer:
        return Pseudonymizer(self.key_ring())

    @model_validator(mode="after")
    def _no_placeholder_secrets_in_production(self) -> ServiceSettings:
        try:
            ring = self.key_ring()
        except (ValueError, TypeError, AttributeError) as exc:
            raise ValueError(f"MOTCUA_PRIVACY_KEYS / MOTCUA_PRIVACY_KEY_ID: {exc}") from None
        if self.environment is Environment.PRODUCTION:
            if not self.privacy_keys and self.pseudonym_key in PLACEHOLDER_SECRETS:
                raise ValueError("MOTCUA_PRIVACY_KEYS (or MOTCUA_PSEUDONYM_KEY) must hold a real secret in production")
            if self.privacy_keys and any(
                secret.decode() in PLACEHOLDER_SECRETS or len(secret) < 32 for secret in ring.keys.values()
            ):
                raise ValueError("every key of MOTCUA_PRIVACY_KEYS must be a real secret of at least 32 characters")
        if self.kafka_security_protocol.startswith("SASL_") and not (
            self.kafka_sasl_username and self.kafka_sasl_password
        ):
            raise ValueError("KAFKA_SASL_USERNAME and KAFKA_SASL_PASSWORD are needed with a SASL security protocol")
        # Imported here: auth builds on these settings, and the key table is checked once, at start.
        from libs.common.auth import parse_api_keys

        keys = parse_api_keys(self.api_keys, production=self.environment is Environment.PRODUCTION)
        if self.environment is Environment.PRODUCTION:
            if not keys and not self.oidc_issuer:
                raise ValueError("MOTCUA_API_KEYS must define at least one API key in production (or set an issuer)")
            if self.session_secret in PLACEHOLDER_SECRETS or len(self.session_secret) < 32:
                raise ValueError("MOTCUA_SESSION_SECRET must be a real secret of at least 32 characters in production")
        return self


def service_config(service: str) -> SettingsConfigDict:
    return SettingsConfigDict(env_prefix=f"MOTCUA_{service.upper()}_", extra="ignore", env_file=None)
