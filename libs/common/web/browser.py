"""Browser tests: Debian's headless Chromium driven through chromium-driver (selenium); ``serving`` (from the
shared test kit) runs the app under a real uvicorn.

A pytest plugin (registered in the root conftest.py): the ``browser`` fixture skips where Chromium is not installed
(``make test`` installs it), records the page's console messages and every URL the page requests, so a test can
assert "no console errors" and "nothing left 127.0.0.1", and saves screenshots under ``var/test-artifacts/``.
"""

from __future__ import annotations

import json
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest

ARTIFACTS = Path(__file__).resolve().parents[3] / "var" / "test-artifacts"
CHROMIUM = "/usr/bin/chromium"
CHROMEDRIVER = "/usr/bin/chromedriver"
LOCAL_HOSTS = frozenset({"127.0.0.1", "localhost", "::1"})
NETWORK_SCHEMES = frozenset({"http", "https", "ws", "wss", "ftp"})


class Browser:
    """One headless Chromium session. ``requests`` lists every URL the pages asked for since the last ``open``."""

    def __init__(self, name: str) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        self.name = name
        self._profile = tempfile.mkdtemp(prefix="motcua-chromium-")
        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        # The flags the workplace's machines need: no sandbox as root, and none of Chromium's own background traffic
        # (it would also break the "nothing leaves 127.0.0.1" check).
        for flag in (
            "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", "--window-size=1280,1000", f"--user-data-dir={self._profile}",
        ):  # fmt: skip
            options.add_argument(flag)
        options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
        self.driver = webdriver.Chrome(service=Service(executable_path=CHROMEDRIVER), options=options)
        self.requests: list[str] = []
        self.console: list[dict[str, Any]] = []

    def open(self, url: str) -> None:
        self.driver.get(url)
        self.collect()

    def collect(self) -> None:
        """Move the browser's logs into ``requests`` and ``console``."""
        for entry in self.driver.get_log("performance"):  # type: ignore[no-untyped-call]
            message = json.loads(entry["message"])["message"]
            if message["method"] == "Network.requestWillBeSent":
                self.requests.append(message["params"]["request"]["url"])
        self.console.extend(self.driver.get_log("browser"))  # type: ignore[no-untyped-call]

    def console_errors(self) -> list[dict[str, Any]]:
        self.collect()
        return [e for e in self.console if e["level"] == "SEVERE"]

    def outside_requests(self) -> list[str]:
        """Network URLs that would have left this machine (data:, blob: and the browser's own chrome:// pages stay
        inside it)."""
        self.collect()
        return [
            url for url in self.requests
            if urlparse(url).scheme in NETWORK_SCHEMES and urlparse(url).hostname not in LOCAL_HOSTS
        ]  # fmt: skip

    def screenshot(self, label: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{self.name}-{label}.png"
        self.driver.save_screenshot(str(path))
        return path

    def close(self) -> None:
        self.driver.quit()
        shutil.rmtree(self._profile, ignore_errors=True)


def chromium_available() -> bool:
    return Path(CHROMIUM).exists() and Path(CHROMEDRIVER).exists()


@pytest.fixture
def browser(request: pytest.FixtureRequest) -> Iterator[Browser]:
    """A headless Chromium for this test (skips where Debian's chromium and chromium-driver are not installed)."""
    if not chromium_available():
        pytest.skip("Chromium not installed (scripts/system_deps.sh installs chromium and chromium-driver)")
    session = Browser(request.node.name.replace("/", "_").replace("[", "-").rstrip("]"))
    try:
        yield session
    finally:
        session.close()
