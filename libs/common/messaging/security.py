"""How the suite's Kafka clients authenticate and encrypt: SASL (SCRAM-SHA-512) and TLS from settings.

Every producer, consumer and admin client of the suite is built with ``**kafka_client_options(settings)``, so one
set of variables secures them all:

- ``KAFKA_SECURITY_PROTOCOL``: ``PLAINTEXT`` (default: a private network), ``SSL``, ``SASL_PLAINTEXT``, ``SASL_SSL``;
- ``KAFKA_SASL_MECHANISM`` (``SCRAM-SHA-512``), ``KAFKA_SASL_USERNAME``, ``KAFKA_SASL_PASSWORD``;
- ``KAFKA_SSL_CAFILE`` (the broker's CA), and for mutual TLS ``KAFKA_SSL_CERTFILE``, ``KAFKA_SSL_KEYFILE``,
  ``KAFKA_SSL_KEY_PASSWORD``.

The TLS context comes from aiokafka's own ``create_ssl_context`` (certificate and host name verified).
"""

from __future__ import annotations

from typing import Any

from aiokafka.helpers import create_ssl_context

from libs.common.settings import ServiceSettings


def kafka_client_options(settings: ServiceSettings) -> dict[str, Any]:
    """Keyword arguments for ``AIOKafkaProducer``, ``AIOKafkaConsumer`` and ``AIOKafkaAdminClient``."""
    protocol = settings.kafka_security_protocol
    options: dict[str, Any] = {"security_protocol": protocol}
    if protocol in ("SSL", "SASL_SSL"):
        options["ssl_context"] = create_ssl_context(
            cafile=settings.kafka_ssl_cafile,
            certfile=settings.kafka_ssl_certfile,
            keyfile=settings.kafka_ssl_keyfile,
            password=settings.kafka_ssl_key_password,
        )
    if protocol.startswith("SASL_"):
        options.update(
            sasl_mechanism=settings.kafka_sasl_mechanism,
            sasl_plain_username=settings.kafka_sasl_username,
            sasl_plain_password=settings.kafka_sasl_password,
        )
    return options
