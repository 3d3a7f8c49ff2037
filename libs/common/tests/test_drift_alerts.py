"""The drift alert rules name metrics that exist (a renamed metric would silence its alert)."""

from __future__ import annotations

import re
from pathlib import Path

import yaml
from prometheus_client import REGISTRY

import libs.common.metrics  # noqa: F401  (registers the metrics)

ALERTS = Path(__file__).resolve().parents[3] / "deploy" / "prometheus" / "alerts.yml"


def test_every_drift_alert_uses_a_registered_metric() -> None:
    rules = [r for g in yaml.safe_load(ALERTS.read_text())["groups"] for r in g["rules"] if "drift" in r["expr"]]
    assert {r["alert"] for r in rules} == {"MotcuaDriftPersists", "MotcuaDriftCheckFailing"}
    known = {f.name + ("_total" if f.type == "counter" else "") for f in REGISTRY.collect()}
    for rule in rules:
        used = set(re.findall(r"motcua_drift_[a-z_]+", rule["expr"]))
        assert used and used <= known, (rule["alert"], used - known)
