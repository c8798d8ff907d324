"""The analyst's view in a real browser: Debian's Chromium driven by Selenium through chromedriver.

Skips with the reason when Chromium, its driver or Selenium is missing, except under CI=true
(``.ci/run`` installs ``chromium`` and ``chromium-driver``); no browser or driver is ever
downloaded (Selenium is given both paths, so Selenium Manager never runs). Set
``WEB_SCREENSHOT_DIR=DIR`` to keep the 400 px and 1280 px screenshots for a look.
"""

from __future__ import annotations

import os
import shutil
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from pipeline.cli import _register, app
from pipeline.store import db
from pipeline.store.models import Judgement
from pipeline.web.app import create_app
from tests.conftest import missing_service
from tests.integration.test_alerts_smtp import free_port
from tests.webdata import built_site_db, site_db, statement_story

__all__ = ["built_site_db", "site_db"]  # fixtures used by name
_register()
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
DRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
WIDTHS = (400, 1280)


@pytest.fixture
def server(site_db: str) -> Iterator[str]:
    """``newsmon serve``'s application under uvicorn on a free loopback port."""
    import uvicorn

    port = free_port()
    config = uvicorn.Config(create_app(), host="127.0.0.1", port=port, log_level="warning")
    srv = uvicorn.Server(config)
    thread = threading.Thread(target=srv.run, daemon=True)
    thread.start()
    deadline = time.monotonic() + 30
    while not srv.started:
        assert time.monotonic() < deadline, "uvicorn did not start"
        time.sleep(0.05)
    yield f"http://127.0.0.1:{port}"
    srv.should_exit = True
    thread.join(timeout=10)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Headless Chromium (Debian's), or a skip naming what is missing."""
    try:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service
    except ImportError:
        missing_service("selenium (pip install selenium)")
    for path, package in ((CHROMIUM, "chromium"), (DRIVER, "chromium-driver")):
        if not os.path.exists(path):
            missing_service(f"{path} (apt-get install {package})")
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    flags = (
        "--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
        "--no-first-run", "--disable-background-networking", "--disable-sync",
        "--disable-component-update", "--hide-scrollbars", "--window-size=1280,1000",
    )  # fmt: skip
    for flag in flags:
        options.add_argument(flag)
    driver = webdriver.Chrome(service=Service(executable_path=DRIVER), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


def screenshots(driver: Any, name: str, shots: Path) -> None:
    """Full-height PNGs of the current page at each width."""
    for width in WIDTHS:
        driver.set_window_size(width, 1000)
        height = driver.execute_script("return document.documentElement.scrollHeight")
        driver.set_window_size(width, min(int(height) + 120, 6000))
        path = shots / f"{name}-{width}.png"
        driver.save_screenshot(str(path))
        assert path.stat().st_size > 5_000
        # Nothing wider than the window: the page reflows instead of scrolling sideways.
        wide = driver.execute_script("return document.documentElement.scrollWidth")
        assert int(wide) <= width, f"{name} at {width}px is {wide}px wide"
    driver.set_window_size(1280, 1000)


def click_and_load(driver: Any, element: Any, *, submit: bool = False) -> None:
    """Click (or submit) what navigates, and wait until the next page replaced this one."""
    from selenium.webdriver.support import expected_conditions
    from selenium.webdriver.support.ui import WebDriverWait

    page = driver.find_element("tag name", "html")
    if submit:
        element.submit()
    else:
        element.click()
    WebDriverWait(driver, 30).until(expected_conditions.staleness_of(page))


def test_analyst_reads_searches_judges_and_mutes(
    site_db: str, server: str, browser: Any, tmp_path: Path
) -> None:
    from selenium.webdriver.common.by import By

    shots = Path(os.environ.get("WEB_SCREENSHOT_DIR") or tmp_path / "shots")
    shots.mkdir(parents=True, exist_ok=True)
    story, title = statement_story(site_db)

    browser.get(server + "/")
    card = browser.find_element(By.ID, f"story-{story}")
    assert title in card.text
    passages = card.find_elements(By.CSS_SELECTOR, ".passage mark")
    assert passages, "the statement's passage with its hit terms marked"
    screenshots(browser, "today", shots)

    box = browser.find_element(By.CSS_SELECTOR, "header form.find input[name=q]")
    box.send_keys("Зангезур")
    click_and_load(browser, box, submit=True)
    hits = browser.find_elements(By.CSS_SELECTOR, "li.hit")
    languages = {h.get_attribute("data-language") for h in hits}
    assert {"en", "hy"} <= languages, languages
    screenshots(browser, "search", shots)

    click_and_load(
        browser, browser.find_element(By.CSS_SELECTOR, f'li.hit a[href="/stories/{story}"]')
    )
    assert browser.current_url.endswith(f"/stories/{story}")
    assert "Versions and copies" in browser.page_source
    screenshots(browser, "story", shots)

    form = browser.find_element(By.CSS_SELECTOR, 'form.verdict[data-topic="zangezur-corridor"]')
    click_and_load(browser, form.find_element(By.CSS_SELECTOR, 'button[value="not-relevant"]'))
    assert "Judgement recorded" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    with db.session_scope(site_db) as session:
        row = session.scalar(select(Judgement).where(Judgement.topic_id == "zangezur-corridor"))
        assert row is not None and row.relevant is False
    result = CliRunner().invoke(app, ["topics", "evaluate", "--stored"])
    assert result.exit_code == 0 and "zangezur-corridor" in result.output, result.output

    click_and_load(browser, browser.find_element(By.CSS_SELECTOR, "form.mute button"))
    assert "Story muted" in browser.find_element(By.CSS_SELECTOR, ".flash").text
    click_and_load(browser, browser.find_element(By.LINK_TEXT, "Today"))
    assert not browser.find_elements(By.ID, f"story-{story}")
