"""Catalogue files: read a JSON or Excel file into rows of our layout (docs/catalogue.md documents both layouts).

Mapping only: the rules run later, per row, exactly as for the API. A row that cannot even be mapped carries its
reasons, so that the report names it and the other rows still go in.
"""

from __future__ import annotations

import io
import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from services.catalogue.domain.levels import Level
from services.catalogue.domain.text import fold
from services.catalogue.errors import ImportUnreadable
from services.catalogue.service import ImportRow

LEVELS = {level.value for level in Level}
# Keys of a ProcedureSnapshot that a new version does not take from the file: the catalogue assigns them.
SNAPSHOT_ONLY = {"version", "in_force_from", "in_force_until"}
# Annotations our own files may carry (the demo data marks its filled gaps).
ANNOTATIONS = {"sample_values", "source_url", "source", "national_decision", "amendments", "note"}


@dataclass(frozen=True)
class DecisionDefaults:
    """The import's publishing decision, used for rows that do not carry their own."""

    number: str | None = None
    signed_on: date | None = None
    effective_on: date | None = None

    def complete(self) -> dict[str, Any] | None:
        if self.number and self.signed_on and self.effective_on:
            return {"number": self.number, "signed_on": self.signed_on, "effective_on": self.effective_on}
        return None


MISSING_DECISION = (
    "decision: missing; give the row's decision (number, signed_on, effective_on) or the import's"
    " decision_number, decision_signed_on and decision_effective_on"
)


def read_catalogue(filename: str | None, raw: bytes, defaults: DecisionDefaults) -> list[ImportRow]:
    if raw[:4] == b"PK\x03\x04" or (filename or "").lower().endswith(".xlsx"):
        return excel_rows(raw, defaults)
    try:
        document = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ImportUnreadable(f"Neither an Excel workbook (.xlsx) nor JSON: {exc}") from exc
    if isinstance(document, dict) and isinstance(document.get("procedures"), list):
        document = document["procedures"]
    if not isinstance(document, list):
        raise ImportUnreadable("A JSON catalogue is an array of procedures (or an object with 'procedures')")
    return [json_row(number, item, defaults) for number, item in enumerate(document, start=1)]


# ---------------------------------------------------------------- JSON


def json_row(number: int, item: Any, defaults: DecisionDefaults) -> ImportRow:
    if not isinstance(item, dict):
        return ImportRow(number, None, None, ("row: not a JSON object",))
    code = item.get("code") if isinstance(item.get("code"), str) else None
    if "sector_name" in item or "documents" in item or "decision_no" in item:
        data, errors = portal_row(item, defaults)
    else:
        data = {k: v for k, v in item.items() if k not in SNAPSHOT_ONLY | ANNOTATIONS and not k.startswith("_")}
        errors = []
        if "decision" not in data:
            decision = defaults.complete()
            if decision is None:
                errors.append(MISSING_DECISION)
            data["decision"] = decision
    return ImportRow(number, code, None if errors else data, tuple(errors))


def portal_row(item: dict[str, Any], defaults: DecisionDefaults) -> tuple[dict[str, Any], list[str]]:
    """The national portal's layout (procedures-sample.json). Where it is silent: see docs/catalogue.md."""
    errors: list[str] = []
    code = str(item.get("code") or "")
    levels = [level for level in item.get("levels") or [] if level in LEVELS]
    if not levels:
        errors.append(f"levels: none handled in the province ({', '.join(item.get('levels') or []) or 'none given'})")
    limit = time_limit(item.get("time_limit"))
    if limit is None:
        errors.append("time_limit: missing (the portal gives no number)")
    channels = set(item.get("channels") or [])
    fees = []
    for fee in item.get("fees") or []:
        if fee.get("amount_vnd") == 0:
            continue  # "Miễn phí": no fee item, so that the procedure does not count as one with fees
        text = fee.get("text") or ""
        name = fee.get("name") or text.split("(")[0].strip() or "Lệ phí"
        fees.append(
            {
                "name": name[:500],
                "amount_vnd": fee.get("amount_vnd"),
                "kind": "charge" if "lệ phí" in (name + " " + text).lower() else "fee",
                "payable_online": "online" in (fee.get("channels") or []),
            }
        )
    digits = code.replace(".", "")
    components = []
    for index, document in enumerate(item.get("documents") or [], start=1):
        name = str(document.get("name") or "").strip()
        copies = re.match(r"\s*(\d+)", str(document.get("copies") or ""))
        components.append(
            {
                "code": f"TP{digits}-{index:02d}",
                "name": name[:500] or f"Thành phần {index}",
                "copies": max(1, int(copies.group(1))) if copies else 1,
                # the portal splits conditional clauses ("Trường hợp …") into items of their own
                "required": not fold(name).startswith("truong hop"),
            }
        )
    online = item.get("online_level")
    decision = defaults.complete()
    if decision is None and item.get("decision_no") and defaults.signed_on and defaults.effective_on:
        decision = {
            "number": item["decision_no"],
            "signed_on": defaults.signed_on,
            "effective_on": defaults.effective_on,
        }
    if decision is None:
        errors.append(MISSING_DECISION)
    data = {
        "code": code,
        "name": item.get("name"),
        "sector": {"code": item.get("sector_code"), "name": item.get("sector_name")},
        "levels": levels,
        "agency_kinds": [item["agency"][:500]] if item.get("agency") else [],
        "time_limit": limit,
        "fees": fees,
        "components": components,
        "online_level": "full" if online == "full" else "partial" if "online" in channels else "none",
        "postal_allowed": "postal" in channels,
        "decision": decision,
    }
    return data, errors


def time_limit(value: Any) -> dict[str, Any] | None:
    if not isinstance(value, dict) or value.get("value") is None:
        return None
    text = fold(str(value.get("text") or ""))
    if "trong ngay" in text:
        return {"amount": 0, "unit": "same_day"}
    if value.get("unit") == "working_hours" or re.search(r"\bgio\b", text):
        return {"amount": int(value["value"]), "unit": "working_hours"}
    # A bare number or "N Ngày": one-stop limits are counted in working days (Decree 61/2018 Art. 19)
    return {"amount": int(value["value"]), "unit": "working_days"}


# ---------------------------------------------------------------- Excel


COLUMNS = (
    "code", "name", "sector_code", "sector_name", "levels", "agency_kinds", "agency_codes", "time_limit",
    "time_limit_unit", "fees", "components", "results", "online_level", "postal_allowed", "cross_boundary_allowed",
    "inter_agency", "participating_agencies", "certification", "public", "process", "decision_number",
    "decision_signed_on", "decision_effective_on", "public_in_national_db_on",
)  # fmt: skip
REQUIRED_COLUMNS = {"code", "name", "sector_name", "levels", "time_limit"}

TRUE = {"x", "co", "yes", "true", "1", "y", "v"}
FALSE = {"", "khong", "no", "false", "0", "n"}
UNITS = {
    "working_days": "working_days", "ngay lam viec": "working_days", "ngay": "working_days",
    "working_hours": "working_hours", "gio lam viec": "working_hours", "gio": "working_hours",
    "same_day": "same_day", "trong ngay": "same_day",
}  # fmt: skip
ONLINE_LEVELS = {
    "full": "full", "toan trinh": "full", "partial": "partial", "mot phan": "partial", "none": "none", "khong": "none",
    "": "none",
}  # fmt: skip


class CellError(ValueError):
    pass


def excel_rows(raw: bytes, defaults: DecisionDefaults) -> list[ImportRow]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(raw), read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises zipfile/KeyError/InvalidFileException on a damaged file
        raise ImportUnreadable(f"Not a readable Excel workbook (.xlsx): {exc}") from exc
    try:
        sheet = workbook.worksheets[0]
        rows = sheet.iter_rows(values_only=True)
        header = next(rows, None)
        if header is None:
            raise ImportUnreadable("The first sheet is empty: its first row names the columns")
        names = [fold(str(h or "")).replace(" ", "_") for h in header]
        missing = REQUIRED_COLUMNS - set(names)
        if missing:
            raise ImportUnreadable(f"Columns missing from the header row: {', '.join(sorted(missing))}")
        result = []
        for number, values in enumerate(rows, start=2):
            cells = {name: value for name, value in zip(names, values, strict=False) if name in COLUMNS}
            if all(v is None or str(v).strip() == "" for v in cells.values()):
                continue
            result.append(excel_row(number, cells, defaults))
        return result
    finally:
        workbook.close()


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip()


def _list(value: Any, separators: str = r"[;\n]") -> list[str]:
    return [part.strip() for part in re.split(separators, _text(value)) if part.strip()]


def _bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    folded = fold(_text(value))
    if folded in TRUE:
        return True
    if folded in FALSE:
        return False
    raise CellError(f"{_text(value)!r} is not yes/no (x, có, yes, true, 1 / blank, không, no, false, 0)")


def _int(value: Any) -> int | None:
    text = re.sub(r"[\s.,đ]|vnd|VNĐ|VND", "", _text(value))
    if text == "":
        return None
    if not text.isdigit():
        raise CellError(f"{_text(value)!r} is not a whole number")
    return int(text)


def _date(value: Any) -> date | None:
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = _text(value)
    if not text:
        return None
    for pattern in ("%d/%m/%Y", "%Y-%m-%d"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise CellError(f"{text!r} is not a date (dd/mm/yyyy)")


def _fields(line: str, count: int) -> list[str]:
    parts = [p.strip() for p in line.split("|")]
    return parts + [""] * (count - len(parts))


def _items(value: Any) -> Iterable[tuple[int, str]]:
    return enumerate((line for line in _text(value).splitlines() if line.strip()), start=1)


def excel_row(number: int, cells: dict[str, Any], defaults: DecisionDefaults) -> ImportRow:
    errors: list[str] = []
    code = _text(cells.get("code")) or None

    def cell(column: str, parse: Any, default: Any = None) -> Any:
        try:
            return parse(cells.get(column)) if column in cells else default
        except CellError as exc:
            errors.append(f"{column}: {exc}")
            return default

    def fee(line: str) -> dict[str, Any]:
        name, amount, kind, online = _fields(line, 4)
        kind = fold(kind)
        return {
            "name": name,
            "amount_vnd": _int(amount),
            "kind": "charge" if kind in ("charge", "le phi") else "fee" if kind in ("", "fee", "phi") else kind,
            "payable_online": _bool(online),
        }

    def component(line: str) -> dict[str, Any]:
        type_code, name, copies, digitise, warehouse = _fields(line, 5)
        return {
            "code": type_code,
            "name": name,
            "copies": _int(copies) or 1,
            "must_digitise": _bool(digitise),
            "reusable_from_warehouse": _bool(warehouse),
        }

    def result(line: str) -> dict[str, Any]:
        type_code, name, electronic = _fields(line, 3)
        return {"type_code": type_code, "name": name, "electronic": _bool(electronic or "x")}

    def lines(parse: Any) -> Any:
        def parse_all(value: Any) -> list[Any]:
            out = []
            for index, line in _items(value):
                try:
                    out.append(parse(line))
                except CellError as exc:
                    raise CellError(f"line {index}: {exc}") from exc
            return out

        return parse_all

    def step(index_line: tuple[int, str]) -> dict[str, Any]:
        index, line = index_line
        actor, action, hours = _fields(line, 3)
        try:
            allowance = float(hours.replace(",", "."))
        except ValueError as exc:
            raise CellError(f"line {index}: {hours!r} is not a number of working hours") from exc
        return {"order": index, "actor": actor, "action": action, "allowance_hours": allowance}

    unit_text = fold(_text(cells.get("time_limit_unit"))) or "working_days"
    unit = UNITS.get(unit_text)
    if unit is None:
        errors.append(f"time_limit_unit: {unit_text!r} is not working_days, working_hours or same_day")
    online_text = fold(_text(cells.get("online_level")))
    online = ONLINE_LEVELS.get(online_text)
    if online is None:
        errors.append(f"online_level: {online_text!r} is not full, partial or none")
    amount = cell("time_limit", _int)
    decision: dict[str, Any] | None = {
        "number": _text(cells.get("decision_number")),
        "signed_on": cell("decision_signed_on", _date),
        "effective_on": cell("decision_effective_on", _date),
    }
    assert decision is not None
    if not (decision["number"] and decision["signed_on"] and decision["effective_on"]):
        decision = defaults.complete()
        if decision is None:
            errors.append(MISSING_DECISION)
    data = {
        "code": code,
        "name": _text(cells.get("name")),
        "sector": {"code": _text(cells.get("sector_code")) or None, "name": _text(cells.get("sector_name"))},
        "levels": [fold(level) for level in _list(cells.get("levels"), r"[,;\n]")],
        "agency_kinds": _list(cells.get("agency_kinds")),
        "agency_codes": _list(cells.get("agency_codes"), r"[,;\n\s]+"),
        "time_limit": {"amount": 0 if unit == "same_day" else amount, "unit": unit},
        "fees": cell("fees", lines(fee), []),
        "components": cell("components", lines(component), []),
        "results": cell("results", lines(result), []),
        "online_level": online,
        "postal_allowed": cell("postal_allowed", _bool, False),
        "cross_boundary_allowed": cell("cross_boundary_allowed", _bool, False),
        "inter_agency": cell("inter_agency", _bool, False),
        "participating_agencies": _list(cells.get("participating_agencies")),
        "certification": cell("certification", _bool, False),
        "public": cell("public", lambda v: True if _text(v) == "" else _bool(v), True),
        "process": cell("process", lambda v: [step(item) for item in _items(v)], []),
        "decision": decision,
        "public_in_national_db_on": cell("public_in_national_db_on", _date),
    }
    return ImportRow(number, code, None if errors else data, tuple(errors))
