from __future__ import annotations

import json
from functools import lru_cache

from pydantic import model_validator

from libs.common.settings import PLACEHOLDER_SECRETS, Environment, ServiceSettings, service_config

DEV_PROVIDER_SECRETS = '{"paygov-sandbox": "dev-paygov-sandbox-secret"}'
DEV_SECRETS = frozenset(json.loads(DEV_PROVIDER_SECRETS).values())


class PaymentsSettings(ServiceSettings):
    model_config = service_config("payments")

    service_name: str = "payments"
    database_url: str = "sqlite+aiosqlite:///var/payments.db"
    # MOTCUA_PAYMENTS_PROVIDER_SECRETS: JSON object {provider: shared secret of its HMAC-signed callbacks}. Online
    # payments may only name a provider listed here (its callbacks could not be verified otherwise).
    provider_secrets: str = DEV_PROVIDER_SECRETS

    @model_validator(mode="after")
    def _provider_secrets_are_usable(self) -> PaymentsSettings:
        table = self.provider_secret_table()
        if self.environment is Environment.PRODUCTION:
            weak = sorted(p for p, s in table.items() if s in PLACEHOLDER_SECRETS or s in DEV_SECRETS or len(s) < 16)
            if weak:
                raise ValueError(f"MOTCUA_PAYMENTS_PROVIDER_SECRETS: set real secrets for {', '.join(weak)}")
        return self

    def provider_secret_table(self) -> dict[str, str]:
        try:
            raw = json.loads(self.provider_secrets or "{}")
        except json.JSONDecodeError as exc:
            raise ValueError(f"MOTCUA_PAYMENTS_PROVIDER_SECRETS is not JSON: {exc}") from None
        if not isinstance(raw, dict) or not all(isinstance(k, str) and isinstance(v, str) for k, v in raw.items()):
            raise ValueError("MOTCUA_PAYMENTS_PROVIDER_SECRETS must be a JSON object of provider -> secret strings")
        return raw


@lru_cache
def get_settings() -> PaymentsSettings:
    return PaymentsSettings()
