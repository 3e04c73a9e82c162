"""End to end in a real headless Chromium: the page uploads the bundled sample face, a style and
an expression are picked, and the downloaded file is a valid animated GIF.

Skips (with the reason) where no Chromium / chromedriver is installed; `.ci/run` installs them,
so CI runs it. The walk itself lives in serve_walkthrough.py, which also makes the README's
screenshots.
"""

from __future__ import annotations

import os
import time

import pytest

pytest.importorskip("selenium", reason="selenium not installed (pip install -e '.[test]')")
pytest.importorskip("uvicorn")

import serve_walkthrough as walkthrough  # noqa: E402  (tests/ is on sys.path under pytest)

CHROMIUM, CHROMEDRIVER, WHY_NOT = walkthrough.find_browser()
#: CI (.ci/run) sets this: there a missing browser is a failure, not a skip
REQUIRED = os.environ.get("EMOGET_REQUIRE_BROWSER") == "1"
pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(CHROMIUM is None and not REQUIRED,
                                 reason=f"browser test skipped: {WHY_NOT}")]


def test_browser_walks_the_four_steps_and_downloads_a_gif(tmp_path):
    assert CHROMIUM is not None, f"EMOGET_REQUIRE_BROWSER=1 but {WHY_NOT}"
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    start = time.monotonic()
    with walkthrough.running_server(tmp_path / "jobs") as url, walkthrough.chromium(downloads) as driver:
        times = walkthrough.walk(driver, url, downloads, style="baby", expr="surprise")
        # the other downloads of step 4: a messenger sticker (Telegram: WebM) and the whole pack
        sticker = walkthrough.click_download(driver, "#preset-btn", ".webm", downloads)
        assert sticker.name == "emoget-baby-surprise-telegram.webm"
        assert sticker.read_bytes()[:4] == b"\x1a\x45\xdf\xa3"  # EBML: a WebM/Matroska file
        pack = walkthrough.click_download(driver, "#pack-btn", ".zip", downloads)
        import zipfile

        from emoget_cli.core.choices import PACK_EXPRESSIONS

        assert sorted(zipfile.ZipFile(pack).namelist()) == sorted(
            f"emoget-{e}.gif" for e in PACK_EXPRESSIONS)
        # every upload and result is gone once the user deletes them
        driver.find_element("id", "delete-btn").click()
        walkthrough._wait(driver, "!document.getElementById('banner').hidden", 30, "the delete")
        assert "Deleted" in driver.find_element("id", "banner").text
        assert not any((tmp_path / "jobs").iterdir())
        # the errors a person meets, in words (a photo without a face; a file that is no photo)
        from PIL import Image
        from skimage import data

        Image.fromarray(data.coffee()).save(tmp_path / "coffee.png")
        text = walkthrough.upload_expecting_error(driver, url, tmp_path / "coffee.png")
        assert text.startswith("No face found."), text
        (tmp_path / "notes.jpg").write_bytes(b"these are my notes, not a photo")
        text = walkthrough.upload_expecting_error(driver, url, tmp_path / "notes.jpg")
        assert text.startswith("This file cannot be used.") and "not an image" in text.lower(), text
    frames, size = walkthrough.check_gif(times["gif"])
    assert times["gif"].name == "emoget-baby-surprise.gif"
    assert frames > 8 and size == (256, 256)
    print(f"browser walk: {time.monotonic() - start:.1f} s; upload to first result "
          f"{times['upload_to_first_result']:.1f} s")
