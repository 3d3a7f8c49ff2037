"""The delivery alert rules name metrics that exist (a renamed metric would silence its alert)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import libs.common.delivery.metrics  # noqa: F401  (registers the metrics)

ALERTS = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "alerts.yml"


def test_every_delivery_alert_uses_a_registered_metric() -> None:
    groups = {g["name"]: g for g in yaml.safe_load(ALERTS.read_text())["groups"]}
    rules = groups["motcua-deliveries"]["rules"]
    assert len(rules) >= 3
    # A labelled metric has no samples until used: take names from the families (counters add "_total").
    known = {f.name + ("_total" if f.type == "counter" else "") for f in REGISTRY.collect()}
    for rule in rules:
        used = set(re.findall(r"motcua_delivery_[a-z_]+", rule["expr"]))
        assert used and used <= known, (rule["alert"], used - known)
