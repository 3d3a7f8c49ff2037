"""The event contract: envelope, payload models and the type registry. Every service imports this module."""

from libs.common.contract.envelope import Envelope
from libs.common.contract.events import *
from libs.common.contract.events import EVENT_TYPES, EventPayload, Topic
from libs.common.contract.registry import EventRegistry, UnknownEventType, make_envelope, registry, topic_name
from libs.common.contract.timeliness import Outcome, judge_outcome, overdue
