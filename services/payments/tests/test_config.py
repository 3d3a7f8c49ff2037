"""Provider secrets in settings: a dev default, JSON checked at start-up, no placeholders in production."""

from __future__ import annotations

import json

import pytest

from libs.common.auth import hash_api_key
from services.payments.config import PaymentsSettings


def test_the_dev_default_knows_the_sandbox_provider() -> None:
    assert set(PaymentsSettings().provider_secret_table()) == {"paygov-sandbox"}


def test_the_table_is_read_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MOTCUA_PAYMENTS_PROVIDER_SECRETS", '{"paygov": "s3cret-s3cret-s3cret"}')
    assert PaymentsSettings().provider_secret_table() == {"paygov": "s3cret-s3cret-s3cret"}


@pytest.mark.parametrize("raw", ["not json", "[]", '{"paygov": 1}'])
def test_a_malformed_table_is_refused_at_start(raw: str) -> None:
    with pytest.raises(ValueError):
        PaymentsSettings(provider_secrets=raw)


@pytest.mark.parametrize(
    "raw", ['{"paygov-sandbox": "dev-paygov-sandbox-secret"}', '{"paygov": "change-me"}', '{"paygov": "short"}']
)
def test_production_refuses_weak_secrets(raw: str) -> None:
    with pytest.raises(ValueError, match="PROVIDER_SECRETS"):
        PaymentsSettings(
            environment="production",
            provider_secrets=raw,
            pseudonym_key="a-real-pseudonym-key-0123456789",
            session_secret="a-real-session-secret-0123456789abcdef",
            api_keys=json.dumps({hash_api_key("a-real-api-key-of-at-least-32-characters"): {"subject": "s"}}),
        )
