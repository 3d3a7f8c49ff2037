"""The stand-ins answer as documented, so that tests built on them test something."""

from __future__ import annotations

from collections.abc import AsyncIterator
from email.message import EmailMessage
from typing import Any

import aiosmtplib
import httpx
import pytest
import pytest_asyncio

from libs.common.standins.gateway import MessageGateway
from libs.common.standins.portal import NationalPortal, schema_errors
from libs.common.standins.server import serving
from libs.common.standins.smtp import smtp_server
from libs.common.testing import eventually

RECORD: dict[str, Any] = {
    "MaHoSo": "000.00.01.H01-260302-0001",
    "MaTTHC": "1.001234",
    "TenTTHC": "Đăng ký khai sinh",
    "MaLinhVuc": "HT",
    "ChuHoSo": "Nguyễn Văn An",
    "LoaiDoiTuong": "1",
    "NgayTiepNhan": "20260302091500",
    "NgayHenTra": "20260305170000",
    "TrangThaiHoSo": "2",
    "KenhThucHien": "1",
    "TaiLieuNop": [],
    "DanhSachLePhi": [],
    "DanhSachHoSoBoSung": [],
    "DanhSachGiayToKetQua": [],
    "DuocThanhToanTrucTuyen": "0",
    "TaiKhoanDuocXacThucVoiVNeID": "0",
}


@pytest_asyncio.fixture
async def portal() -> AsyncIterator[tuple[NationalPortal, httpx.AsyncClient]]:
    stand_in = NationalPortal(hang_seconds=1)
    async with serving(stand_in.app()) as base, httpx.AsyncClient(base_url=base, timeout=0.5) as client:
        yield stand_in, client


async def login(client: httpx.AsyncClient) -> str:
    answer = (await client.post("/login", json={"username": "motcua", "password": "portal-secret"})).json()
    assert answer["error_code"] == "00"
    return str(answer["session"])


def test_schema_names_what_is_wrong() -> None:
    assert schema_errors("DongBoHoSoMC", RECORD) == []
    wrong = RECORD | {"NgayHenTra": "05/03/2026", "LoaiDoiTuong": "3"}
    del wrong["MaTTHC"]
    errors = schema_errors("DongBoHoSoMC", wrong)
    assert [e.split(":")[0] for e in errors] == ["(root)", "LoaiDoiTuong", "NgayHenTra"]
    assert "'MaTTHC' is a required property" in errors[0]


@pytest.mark.asyncio
async def test_portal_accepts_valid_records_with_a_session(portal: tuple[NationalPortal, httpx.AsyncClient]) -> None:
    stand_in, client = portal
    assert (await client.post("/DongBoHoSoMC", json={"session": "forged", "data": [RECORD]})).status_code == 401
    session = await login(client)
    answer = await client.post("/DongBoHoSoMC", json={"session": session, "data": [RECORD]})
    assert answer.json()["error_code"] == "00"
    bad = await client.post("/DongBoHoSoMC", json={"session": session, "data": [RECORD | {"NgayTiepNhan": "x"}]})
    assert bad.json()["error_code"] == "02" and "NgayTiepNhan" in bad.json()["message"]
    assert stand_in.received("DongBoHoSoMC") == [RECORD]
    assert [c.path for c in stand_in.calls] == ["DongBoHoSoMC", "login", "DongBoHoSoMC", "DongBoHoSoMC"]
    stand_in.expire_sessions()
    assert (await client.post("/DongBoHoSoMC", json={"session": session, "data": [RECORD]})).status_code == 401


@pytest.mark.asyncio
async def test_portal_faults_on_demand(portal: tuple[NationalPortal, httpx.AsyncClient]) -> None:
    stand_in, client = portal
    session = await login(client)
    stand_in.fail_next(code="99")
    stand_in.fail_next(http=502)
    stand_in.fail_next(hang=True)
    body = {"session": session, "data": [RECORD]}
    assert (await client.post("/DongBoHoSoMC", json=body)).json()["error_code"] == "99"
    assert (await client.post("/DongBoHoSoMC", json=body)).status_code == 502
    with pytest.raises(httpx.ReadTimeout):
        await client.post("/DongBoHoSoMC", json=body)
    stand_in.go_down()
    assert (await client.post("/DongBoHoSoMC", json=body)).status_code == 503
    stand_in.come_back()
    assert (await client.post("/DongBoHoSoMC", json=body)).json()["error_code"] == "00"
    assert stand_in.received("DongBoHoSoMC") == [RECORD]


@pytest.mark.asyncio
async def test_gateway_sms_and_zns() -> None:
    gateway = MessageGateway(zns_templates={"2401": {"ma_ho_so"}})
    async with serving(gateway.app()) as base, httpx.AsyncClient(base_url=base) as client:
        auth = {"Authorization": "Bearer sms-key"}
        sms = {"brandname": "MOTCUA", "phone": "0912345678", "message": "Hồ sơ đã có kết quả", "request_id": "r1"}
        assert (await client.post("/sms/send", json=sms, headers=auth)).json()["code"] == "00"
        assert (await client.post("/sms/send", json=sms | {"phone": "12"}, headers=auth)).json()["code"] == "02"
        assert (await client.post("/sms/send", json=sms)).status_code == 401
        zns = {"phone": "84912345678", "template_id": "2401", "template_data": {"ma_ho_so": "X"}, "tracking_id": "t1"}
        token = {"access_token": "zalo-token"}
        assert (await client.post("/zns/message/template", json=zns, headers=token)).json()["error"] == 0
        missing = zns | {"template_data": {}}
        assert (await client.post("/zns/message/template", json=missing, headers=token)).json()["error"] == -1123
    assert gateway.sms == [sms] and gateway.zns == [zns]


@pytest.mark.asyncio
async def test_smtp_keeps_what_it_receives() -> None:
    with smtp_server() as server:
        message = EmailMessage()
        message["Subject"], message["From"], message["To"] = "Thông báo", "a@motcua.test", "b@example.test"
        message.set_content("Xin chào")
        await aiosmtplib.send(message, hostname=server.host, port=server.port)
        received = await eventually(lambda: _first(server.messages), what="the message")
    assert received.envelope_to == ["b@example.test"] and received.message["Subject"] == "Thông báo"


async def _first(items: list[Any]) -> Any:
    return items[0] if items else None
