"""The delivery targets intake's worker serves, built from the settings and one shared HTTP client."""

from __future__ import annotations

import httpx

from libs.common.delivery import RetryPolicy, Sender, Target
from services.intake.integrations.channels import SmsGatewaySender, SmtpSender, ZnsSender
from services.intake.integrations.notices import TARGETS, NoticeChannel
from services.intake.integrations.portal import PORTAL_TARGET
from services.intake.integrations.portal_sender import PortalSender
from services.intake.integrations.settings import IntegrationSettings


def delivery_targets(settings: IntegrationSettings, client: httpx.AsyncClient) -> list[Target]:
    """One target per enabled integration. ``client`` is the app's shared ``httpx.AsyncClient`` (built in the
    lifespan, closed with it)."""
    retry = RetryPolicy(max_seconds=settings.delivery_max_backoff_seconds, max_attempts=settings.delivery_max_attempts)

    def target(name: str, sender: Sender, rate: float, timeout: float = 30.0) -> Target:
        return Target(
            name=name,
            sender=sender,
            retry=retry,
            failure_threshold=settings.delivery_failure_threshold,
            open_seconds=settings.delivery_open_seconds,
            rate_per_second=rate,
            burst=max(1, int(rate)),
            attempt_timeout_seconds=timeout,
        )

    targets: list[Target] = []
    if settings.portal_enabled:
        portal = PortalSender(
            client,
            base_url=settings.portal_base_url,
            username=settings.portal_username,
            password=settings.portal_password,
            agency_code=settings.portal_agency_code or None,
            session_error_codes=frozenset(settings.portal_session_error_codes),
            retryable_codes=frozenset(settings.portal_retryable_codes),
            timeout_seconds=settings.portal_timeout_seconds,
        )
        # Login and the call itself may both take the HTTP timeout.
        targets.append(
            target(PORTAL_TARGET, portal, settings.portal_rate_per_second, 2 * settings.portal_timeout_seconds + 5)
        )
    if settings.sms_enabled:
        sms = SmsGatewaySender(
            client, url=settings.sms_gateway_url, api_key=settings.sms_api_key, brandname=settings.sms_brandname
        )
        targets.append(target(TARGETS[NoticeChannel.SMS], sms, settings.sms_rate_per_second))
    if settings.zalo_enabled:
        zns = ZnsSender(client, url=settings.zalo_zns_url, access_token=settings.zalo_access_token)
        targets.append(target(TARGETS[NoticeChannel.ZALO], zns, settings.zalo_rate_per_second))
    if settings.email_enabled:
        smtp = SmtpSender(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            username=settings.smtp_username,
            password=settings.smtp_password,
            use_tls=settings.smtp_use_tls,
        )
        targets.append(target(TARGETS[NoticeChannel.EMAIL], smtp, settings.email_rate_per_second))
    return targets
