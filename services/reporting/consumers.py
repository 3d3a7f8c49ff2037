"""Reporting consumes every topic of the contract: one consumer group whose batch handler is the fold."""

from __future__ import annotations

from libs.common.app import ConsumerSpec
from libs.common.contract import Topic
from services.reporting.fold.handlers import CONSUMER, make_fold

__all__ = ["CONSUMER", "consumer_spec"]


def consumer_spec(pseudonym_key: str) -> ConsumerSpec:
    return ConsumerSpec(name=CONSUMER, topics=frozenset(Topic), handler=make_fold(pseudonym_key))
