"""A headless Chromium for the browser tests: Debian's (/usr/bin/chromium, driven by Selenium
through /usr/bin/chromedriver; never a downloaded browser, `make browser` installs both), that
reaches nothing but file:// and 127.0.0.1: every other request goes to a proxy on a closed port and
fails. It records what each page requested and what the console said, and saves screenshots into
test-artifacts/browser/ (git-ignored)."""

from __future__ import annotations

import contextlib
import json
import re
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACTS = REPO / "test-artifacts" / "browser"


class Browser:
    def __init__(self, driver) -> None:
        self.driver = driver

    def open(self, url: str) -> None:
        self.driver.get_log("performance")  # forget the previous page's requests
        self.driver.get_log("browser")
        self.driver.get(url)

    def script(self, code: str):
        return self.driver.execute_script(code)

    def wait_for(self, what: str, code: str, timeout: float = 20.0):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            value = self.script(code)
            if value:
                return value
            time.sleep(0.2)
        self.screenshot(f"timeout-{what}")
        raise AssertionError(f"{what}: not seen in {timeout:.0f} s on {self.driver.current_url}")

    def requests(self) -> list[str]:
        """The URLs the page requested since it was opened."""
        urls = []
        for entry in self.driver.get_log("performance"):
            message = json.loads(entry["message"])["message"]
            if message.get("method") == "Network.requestWillBeSent":
                urls.append(message["params"]["request"]["url"])
        return urls

    def console_errors(self) -> list[str]:
        return [e["message"] for e in self.driver.get_log("browser") if e["level"] == "SEVERE"]

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{re.sub(r'[^A-Za-z0-9._-]+', '-', name)}.png"
        self.driver.save_screenshot(str(path))
        return path


def local_only(urls: list[str]) -> list[str]:
    """The requests that went neither to a file, inline data, a page's own blob, nor 127.0.0.1."""
    allowed = ("file://", "data:", "blob:http://127.0.0.1:", "http://127.0.0.1:", "http://localhost:")
    return [url for url in urls if not url.startswith(allowed)]


@contextlib.contextmanager
def offline_chromium() -> Iterator[Browser]:
    if not (CHROMIUM.exists() and CHROMEDRIVER.exists()):
        pytest.fail(f"{CHROMIUM} or {CHROMEDRIVER} is missing: `make browser` installs Debian's chromium")
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        # Everything but loopback goes through a proxy on a closed port: it fails at once.
        # (Chromium sends loopback direct by default; "<-loopback>" would send it to the proxy too.)
        "--proxy-server=http://127.0.0.1:9",
        "--proxy-bypass-list=127.0.0.1;localhost",
        "--disable-background-networking",
        "--disable-component-update",
        "--no-first-run",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    driver = webdriver.Chrome(service=Service(executable_path=str(CHROMEDRIVER)), options=options)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
