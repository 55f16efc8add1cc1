"""Headless Chromium through Selenium, offline: the flags keep it from phoning home."""

from __future__ import annotations

import shutil
from pathlib import Path

CHROMEDRIVER = "/usr/bin/chromedriver"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser")
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
    "--window-size=1280,2400",
    "--hide-scrollbars",
)


def chromium_missing() -> str | None:
    """Why the browser test cannot run here, or None when it can."""
    if not Path(CHROMEDRIVER).is_file():
        return f"{CHROMEDRIVER} is missing (apt-get install chromium chromium-driver; ./test.sh does it as root)"
    if not any(Path(p).is_file() for p in CHROMIUM_CANDIDATES) and not shutil.which("chromium"):
        return "chromium is missing (apt-get install chromium chromium-driver; ./test.sh does it as root)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


def start_chromium():
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    for flag in FLAGS:
        options.add_argument(flag)
    binary = next((p for p in CHROMIUM_CANDIDATES if Path(p).is_file()), None)
    if binary:
        options.binary_location = binary
    options.set_capability("goog:loggingPrefs", {"browser": "ALL", "performance": "ALL"})
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
