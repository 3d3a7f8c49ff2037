"""Settings of intake's outbound integrations, a fragment for ``IntakeSettings`` to inherit (env ``MOTCUA_INTAKE_…``).

Everything is off by default: a province turns on the portal and each notice channel once it has their endpoints
and credentials (deploy/README.md lists them).
"""

from __future__ import annotations

from pathlib import Path

from pydantic import field_validator, model_validator
from pydantic_settings import BaseSettings

from libs.common.settings import PLACEHOLDER_SECRETS, Environment


class IntegrationSettings(BaseSettings):
    # National public-service portal
    portal_enabled: bool = False
    portal_base_url: str = "http://127.0.0.1:8090"
    portal_username: str = ""
    portal_password: str = ""
    portal_agency_code: str = ""  # "madonvi": the sending province or agency, as the portal knows it
    portal_codes_path: Path | None = None  # overrides entries of integrations/portal_codes.json
    portal_session_error_codes: list[str] = ["401"]
    portal_retryable_codes: list[str] = ["99"]
    portal_timeout_seconds: float = 30.0
    portal_rate_per_second: float = 5.0

    # Notices
    notice_templates_dir: Path | None = None  # overrides templates/notices/<channel>/<kind>… file by file
    notice_lookup_url: str = ""  # look-up page printed in receipts (empty: no link)
    notice_quiet_hours: str = "21:00-07:00"  # Vietnam time; SMS and Zalo wait for the end (empty: off)
    # The payment page printed in fee-due notices, with "{dossier_code}" where the dossier's code goes, e.g.
    # "https://dichvucong.example.gov.vn/thanh-toan?ma-ho-so={dossier_code}" (empty: no link)
    notice_payment_url: str = ""
    # A fee-due notice is not sent for an assessment older than this when intake reads it (first start, a long
    # outage): the payment that settled it may be the next event still unread, and no citizen is asked to pay twice.
    notice_fee_due_max_age_hours: float = 24.0
    sms_enabled: bool = False
    sms_gateway_url: str = "http://127.0.0.1:8091/sms/send"
    sms_api_key: str = ""
    sms_brandname: str = ""
    sms_rate_per_second: float = 10.0
    zalo_enabled: bool = False
    zalo_zns_url: str = "https://business.openapi.zalo.me/message/template"
    zalo_access_token: str = ""
    zalo_template_ids: dict[str, str] = {}  # notice kind -> ZNS template id registered by the province's OA
    zalo_rate_per_second: float = 10.0
    email_enabled: bool = False
    smtp_host: str = "127.0.0.1"
    smtp_port: int = 25
    smtp_username: str = ""
    smtp_password: str = ""
    smtp_sender: str = "motcua@localhost"
    smtp_use_tls: bool = False  # implicit TLS (port 465); otherwise STARTTLS when the server offers it
    email_rate_per_second: float = 5.0

    # The delivery worker, for every target
    delivery_worker: bool = True  # run it in this process (off: another replica or a test drives it)
    delivery_poll_seconds: float = 1.0
    delivery_failure_threshold: int = 5
    delivery_open_seconds: float = 60.0
    delivery_max_attempts: int = 30
    delivery_max_backoff_seconds: float = 900.0

    @field_validator("notice_payment_url")
    @classmethod
    def _payment_url_names_the_dossier(cls, value: str) -> str:
        if value and "{dossier_code}" not in value:
            raise ValueError("must contain {dossier_code}, where the dossier's code goes")
        return value

    @model_validator(mode="after")
    def _real_credentials_in_production(self) -> IntegrationSettings:
        if getattr(self, "environment", None) is Environment.PRODUCTION:
            needed = {
                "portal_password": self.portal_enabled,
                "sms_api_key": self.sms_enabled,
                "zalo_access_token": self.zalo_enabled,
            }
            for name, enabled in needed.items():
                if enabled and getattr(self, name) in PLACEHOLDER_SECRETS:
                    raise ValueError(f"MOTCUA_INTAKE_{name.upper()} must be set when its channel is enabled")
        return self
