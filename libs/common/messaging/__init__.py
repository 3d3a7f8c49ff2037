"""Outbox, relay, inbox and consumer runner: how services exchange events over Kafka without losing or doubling."""
