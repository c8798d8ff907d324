"""The HTML alert and digest rendered by headless Chromium at phone and desktop widths.

Skips when Chromium is missing, except under CI=true (``.ci/run`` installs Debian's ``chromium``).
Set ``ALERTS_SCREENSHOT_DIR=DIR`` to keep the screenshots for a look.
"""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
from datetime import timedelta
from pathlib import Path

from pipeline.alerts.render import group_items, render_digest, render_instant
from pipeline.alerts.stories import load_story
from pipeline.store.db import session_scope
from tests.alerts_data import DAY1, copy_of, match, story, subscribers
from tests.conftest import missing_service

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
WIDTHS = {"phone": 400, "wide": 1200}


def screenshot(html_file: Path, png: Path, width: int, height: int = 1600) -> None:
    """Render one file to PNG with the flags that keep Chromium off the network."""
    profile = png.parent / f"profile-{png.stem}"
    cmd = [
        CHROMIUM,
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--hide-scrollbars",
        f"--user-data-dir={profile}",
        f"--screenshot={png}",
        f"--window-size={width},{height}",
        html_file.as_uri(),
    ]
    subprocess.run(cmd, check=True, capture_output=True, timeout=120)


def png_size(path: Path) -> tuple[int, int]:
    """Width and height from the PNG header (IHDR)."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    width, height = struct.unpack(">II", data[16:24])
    return int(width), int(height)


def sample_messages(db_url: str) -> dict[str, str]:
    """An instant alert and a digest with multilingual passages, outlets and a caught-up part."""
    instant_sub = subscribers(
        {
            "id": "caucasus-desk",
            "name": "South Caucasus desk",
            "email": "desk@example.org",
            "mode": "instant",
        }
    ).items[0]
    digest_sub = subscribers(
        {
            "id": "karabakh-digest",
            "email": "a@example.org",
            "mode": "digest",
            "topics": ["zangezur-corridor", "peace-treaty", "border-delimitation"],
        }
    ).items[0]
    with session_scope(db_url) as s:
        c1, d1 = story(
            s,
            n=1,
            title="Statement by the Ministry on the opening of regional transport communications "
            "through the Syunik province <script>alert(1)</script>",
        )
        match(s, d1, "peace-treaty", "deputy minister")
        for name in ("tass", "armenpress", "news-am", "apa"):
            copy_of(s, c1, d1, source_name=name)
        c2, _ = story(
            s,
            n=2,
            source_name="mid-ru",
            language="ru",
            term="Зангезурск* коридор*",
            title="Комментарий официального представителя МИД России",
            text="Москва внимательно следит за ситуацией. Вопрос Зангезурского коридора "
            "обсуждался на встрече заместителей премьер-министров трёх стран. "
            "Стороны договорились продолжить работу.",
        )
        c3, _ = story(
            s,
            n=3,
            topic_id="border-delimitation",
            term="delimitation",
            title="Commissions on delimitation meet in the border village",
            text="The commissions on delimitation of the state border held their twelfth "
            "meeting, agreed on a section of 12.7 km near the village and published "
            "https://mfa.example.org/a/very/long/link/that/should/wrap/on/phones/"
            "2026/03/10/protocol-of-the-twelfth-meeting.pdf for comments.",
            published=DAY1 - timedelta(days=2),
        )
        views = [
            load_story(s, c1.id, "zangezur-corridor"),
            load_story(s, c1.id, "peace-treaty"),
            load_story(s, c2.id, "zangezur-corridor"),
            load_story(s, c3.id, "border-delimitation", caught_up=True),
        ]
    v1a, v1b, v2, v3 = [v for v in views if v is not None]
    instant = render_instant(instant_sub, group_items([v1a, v1b])[0])
    digest = render_digest(digest_sub, group_items([v1a, v1b, v2]), group_items([v3]), day=DAY1)
    return {"instant": instant.html, "digest": digest.html}


def test_alert_and_digest_render_in_chromium(db_url: str, tmp_path: Path) -> None:
    if not Path(CHROMIUM).exists():
        missing_service("chromium (apt-get install -y chromium)")
    keep = os.environ.get("ALERTS_SCREENSHOT_DIR")
    out = Path(keep) if keep else tmp_path / "shots"
    out.mkdir(parents=True, exist_ok=True)
    for kind, html in sample_messages(db_url).items():
        assert "<script>alert(1)</script>" not in html
        page = out / f"{kind}.html"
        page.write_text(html, encoding="utf-8")
        for label, width in WIDTHS.items():
            png = out / f"{kind}-{label}.png"
            screenshot(page, png, width)
            w, h = png_size(png)
            assert (w, h) == (width, 1600)
            # A blank page compresses to a few KB; rendered text and boxes do not.
            assert png.stat().st_size > 20_000, f"{png} looks empty"
