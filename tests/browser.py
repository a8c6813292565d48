"""A headless Chromium for the report test, driven through chromedriver's W3C WebDriver protocol
(plain HTTP and JSON, so the standard library is the whole client).

Chromium and chromedriver come from Debian's packages (``apt-get install chromium
chromium-driver``; .ci/run installs them). Without the flags below Chromium reaches for the network
at start (component updates, sync, QUIC) and hangs on a closed one; a fresh profile per run keeps
one test from seeing another's state.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any, Self

CHROMIUM_FLAGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync",
    "--disable-dev-shm-usage", "--hide-scrollbars",
]


def find_browser() -> tuple[str | None, str | None]:
    """Chromium and chromedriver, from GEOXAI_CHROMIUM / GEOXAI_CHROMEDRIVER or the PATH."""
    chromium = os.environ.get("GEOXAI_CHROMIUM") or shutil.which("chromium") or shutil.which(
        "chromium-browser")
    driver = os.environ.get("GEOXAI_CHROMEDRIVER") or shutil.which("chromedriver")
    return chromium, driver


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


class Browser:
    """One chromedriver process and one browser session; use as a context manager."""

    def __init__(self, chromium: str, driver: str, timeout: float = 30):
        self.chromium, self.driver, self.timeout = chromium, driver, timeout

    def __enter__(self) -> Self:
        self.port = _free_port()
        self.profile = tempfile.mkdtemp(prefix="geoxai-chromium-")
        self.process = subprocess.Popen(
            [self.driver, f"--port={self.port}", "--allowed-ips=127.0.0.1"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + self.timeout
        while True:
            try:
                if self._call("GET", "/status")["value"].get("ready"):
                    break
            except (urllib.error.URLError, ConnectionError):
                pass
            if time.monotonic() > deadline or self.process.poll() is not None:
                self.close()
                raise RuntimeError(f"chromedriver {self.driver} did not start on port {self.port}")
            time.sleep(0.1)
        options = {"binary": self.chromium,
                   "args": [*CHROMIUM_FLAGS, f"--user-data-dir={self.profile}"]}
        reply = self._call("POST", "/session", {"capabilities": {"alwaysMatch": {
            "browserName": "chrome", "goog:chromeOptions": options,
            "timeouts": {"script": int(self.timeout * 1000), "pageLoad": int(self.timeout * 1000)},
        }}})
        self.session = f"/session/{reply['value']['sessionId']}"
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        if getattr(self, "session", None):
            try:
                self._call("DELETE", self.session)
            except (urllib.error.URLError, ConnectionError):
                pass
            self.session = None
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
        shutil.rmtree(self.profile, ignore_errors=True)

    def _call(self, method: str, path: str, body: dict | None = None) -> dict[str, Any]:
        request = urllib.request.Request(
            f"http://127.0.0.1:{self.port}{path}", method=method,
            data=None if body is None else json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=self.timeout + 30) as response:
                return json.loads(response.read())
        except urllib.error.HTTPError as error:
            detail = json.loads(error.read() or b"{}").get("value", {})
            raise RuntimeError(f"WebDriver {method} {path}: {detail.get('message', error)}") from None

    def viewport(self, width: int, height: int) -> None:
        """The page's viewport (not the window's outer size), through the DevTools protocol."""
        self._call("POST", f"{self.session}/goog/cdp/execute", {
            "cmd": "Emulation.setDeviceMetricsOverride",
            "params": {"width": width, "height": height, "deviceScaleFactor": 1, "mobile": False},
        })

    def open(self, url: str) -> None:
        self._call("POST", f"{self.session}/url", {"url": url})

    def run(self, script: str, *arguments: Any) -> Any:
        """``script`` (a function body) in the page; its return value."""
        return self._call("POST", f"{self.session}/execute/sync",
                          {"script": script, "args": list(arguments)})["value"]

    def run_async(self, script: str, *arguments: Any) -> Any:
        """``script`` in the page, finished when it calls its last argument (the callback)."""
        return self._call("POST", f"{self.session}/execute/async",
                          {"script": script, "args": list(arguments)})["value"]

    def wait_for(self, script: str, timeout: float | None = None) -> Any:
        """Poll ``script`` until it returns something true; that value."""
        deadline = time.monotonic() + (timeout or self.timeout)
        while True:
            value = self.run(script)
            if value:
                return value
            if time.monotonic() > deadline:
                raise TimeoutError(f"the page never satisfied: {script}")
            time.sleep(0.1)

    def screenshot(self, path: str | Path) -> None:
        import base64

        png = self._call("GET", f"{self.session}/screenshot")["value"]
        Path(path).write_bytes(base64.b64decode(png))
