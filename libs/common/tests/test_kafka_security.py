"""Kafka clients' SASL and TLS options come from the shared settings."""

from __future__ import annotations

import ssl
from pathlib import Path

import pytest
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from libs.common.messaging.kafka import producer_factory
from libs.common.messaging.security import kafka_client_options
from libs.common.settings import ServiceSettings


def ca_file(tmp_path: Path) -> str:
    """A self-signed CA certificate, as a deployment's KAFKA_SSL_CAFILE would hold."""
    import datetime as dt

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "motcua-test-ca")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now)
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    path = tmp_path / "ca.pem"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    return str(path)


def test_plaintext_by_default() -> None:
    assert kafka_client_options(ServiceSettings()) == {"security_protocol": "PLAINTEXT"}


def test_sasl_scram_over_tls_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("KAFKA_SECURITY_PROTOCOL", "SASL_SSL")
    monkeypatch.setenv("KAFKA_SASL_USERNAME", "motcua-intake")
    monkeypatch.setenv("KAFKA_SASL_PASSWORD", "a-long-broker-password")
    monkeypatch.setenv("KAFKA_SSL_CAFILE", ca_file(tmp_path))
    options = kafka_client_options(ServiceSettings())
    context = options.pop("ssl_context")
    assert options == {
        "security_protocol": "SASL_SSL",
        "sasl_mechanism": "SCRAM-SHA-512",
        "sasl_plain_username": "motcua-intake",
        "sasl_plain_password": "a-long-broker-password",
    }
    assert isinstance(context, ssl.SSLContext)
    assert context.verify_mode is ssl.CERT_REQUIRED and context.check_hostname
    assert [c["subject"] for c in context.get_ca_certs()] == [((("commonName", "motcua-test-ca"),),)]


def test_sasl_without_credentials_is_refused_at_start() -> None:
    with pytest.raises(ValueError, match="KAFKA_SASL_USERNAME"):
        ServiceSettings(kafka_security_protocol="SASL_PLAINTEXT")


@pytest.mark.asyncio
async def test_the_clients_accept_the_options(tmp_path: Path) -> None:
    settings = ServiceSettings(
        kafka_security_protocol="SASL_SSL",
        kafka_sasl_username="u",
        kafka_sasl_password="p" * 20,
        kafka_ssl_cafile=ca_file(tmp_path),
    )
    options = kafka_client_options(settings)
    producer = producer_factory("127.0.0.1:9", "motcua-test", **options)()
    consumer = AIOKafkaConsumer(bootstrap_servers="127.0.0.1:9", **options)
    assert isinstance(producer, AIOKafkaProducer)
    assert producer.client._security_protocol == "SASL_SSL" and producer.client._sasl_mechanism == "SCRAM-SHA-512"
    assert consumer._client._ssl_context is options["ssl_context"]
