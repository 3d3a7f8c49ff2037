"""Reporting consumes every topic of the contract: one consumer group whose batch handler is the fold."""

from __future__ import annotations

from libs.common.app import ConsumerSpec
from libs.common.contract import Topic
from libs.common.contract.registry import EventRegistry, registry
from libs.common.settings import ServiceSettings
from services.reporting.fold.handlers import CONSUMER, make_fold

__all__ = ["CONSUMER", "consumer_spec", "keyed_registry"]


def keyed_registry(settings: ServiceSettings) -> EventRegistry:
    """The contract with the deployment's keys, so old records carrying clear identity numbers are upcast to the
    pseudonyms the producers give today."""
    return registry.with_pseudonymizer(settings.pseudonymizer())


def consumer_spec(settings: ServiceSettings) -> ConsumerSpec:
    return ConsumerSpec(name=CONSUMER, topics=frozenset(Topic), handler=make_fold(keyed_registry(settings)))
