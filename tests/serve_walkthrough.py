"""Walk `emoget serve`'s four steps in a real headless Chromium (selenium + the system's
chromedriver): upload the sample face, pick a style and an expression, download the GIF.

    python tests/serve_walkthrough.py --shots docs/      # screenshots docs/serve-1-upload.png ...

tests/test_serve_browser.py runs the same walk; this script also saves a screenshot of each step
and prints the timings. Chromium comes from the system packages (`apt-get install chromium
chromium-driver`): nothing is downloaded.
"""

from __future__ import annotations

import argparse
import contextlib
import shutil
import socket
import sys
import threading
import time
from pathlib import Path
from typing import Iterator, Optional

ROOT = Path(__file__).resolve().parents[1]
SAMPLE = ROOT / "emoget_cli" / "assets" / "sample_face.jpg"
CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome")
CHROMEDRIVER_CANDIDATES = ("/usr/bin/chromedriver", "/usr/lib/chromium/chromedriver")
WINDOW = (1200, 980)


def find_browser() -> tuple[Optional[str], Optional[str], str]:
    """(chromium, chromedriver, why not) — both paths, or None and the reason."""
    chromium = next((p for p in CHROMIUM_CANDIDATES if Path(p).is_file()), None) or shutil.which("chromium")
    driver = next((p for p in CHROMEDRIVER_CANDIDATES if Path(p).is_file()), None) or shutil.which("chromedriver")
    if chromium is None:
        return None, None, "no Chromium installed (apt-get install chromium chromium-driver)"
    if driver is None:
        return None, None, "no chromedriver installed (apt-get install chromium-driver)"
    return chromium, driver, ""


@contextlib.contextmanager
def running_server(root: Path, workers: int = 2) -> Iterator[str]:
    """A real uvicorn server on a free loopback port, in a thread; yields its URL."""
    import uvicorn

    from emoget_cli.serve.app import create_app
    from emoget_cli.serve.config import ServeConfig

    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    port = sock.getsockname()[1]
    app = create_app(ServeConfig(port=port, workers=workers), root=root)
    server = uvicorn.Server(uvicorn.Config(app, log_level="warning", access_log=False))
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    deadline = time.monotonic() + 60
    while not server.started and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        raise RuntimeError("the server did not start in 60 s")
    try:
        yield f"http://127.0.0.1:{port}/"
    finally:
        server.should_exit = True
        thread.join(timeout=30)
        sock.close()


@contextlib.contextmanager
def chromium(download_dir: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    binary, driver_path, why = find_browser()
    if binary is None:
        raise RuntimeError(why)
    options = webdriver.ChromeOptions()
    options.binary_location = binary
    for arg in ("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                f"--window-size={WINDOW[0]},{WINDOW[1]}", "--hide-scrollbars",
                "--force-device-scale-factor=1", "--no-first-run", "--disable-extensions"):
        options.add_argument(arg)
    options.add_experimental_option("prefs", {
        "download.default_directory": str(download_dir), "download.prompt_for_download": False,
        "safebrowsing.enabled": False})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=driver_path))
    try:
        driver.execute_cdp_cmd("Page.setDownloadBehavior", {"behavior": "allow", "downloadPath": str(download_dir)})
        yield driver
    finally:
        driver.quit()


def _wait(driver, script: str, timeout: float, what: str) -> None:
    """Until the JavaScript expression `script` is truthy; fails with the page's banner."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if driver.execute_script(f"return !!({script});"):
            return
        banner = driver.execute_script(
            "const b = document.getElementById('banner'); return b && !b.hidden ? b.innerText : null;")
        if banner and "Deleted" not in banner:
            raise AssertionError(f"{what}: the page says {banner!r}")
        time.sleep(0.05)
    raise AssertionError(f"{what}: not within {timeout:.0f} s")


def screenshot(driver, path: Path, settle: float = 0.5) -> None:
    """Screenshot of the page cut to the visible step (the viewport is set to its height)."""
    time.sleep(settle)  # the step's entrance animation; the GIFs into their loop
    height = driver.execute_script(
        "return Math.ceil(document.querySelector('section.card:not([hidden])')"
        ".getBoundingClientRect().bottom) + 28;")
    driver.execute_cdp_cmd("Emulation.setDeviceMetricsOverride", {
        "width": WINDOW[0], "height": max(480, int(height)), "deviceScaleFactor": 1, "mobile": False})
    time.sleep(0.2)
    driver.save_screenshot(str(path))
    driver.execute_cdp_cmd("Emulation.clearDeviceMetricsOverride", {})


THUMBS_LOADED = ("(() => {{ const imgs = [...document.querySelectorAll('{grid} .choice img')];"
                 " return imgs.length > 0 && imgs.every(i => i.complete && i.naturalWidth > 0"
                 " && !i.classList.contains('skeleton')); }})()")


def walk(driver, url: str, download_dir: Path, shots: Optional[Path] = None,
         style: str = "baby", expr: str = "surprise", timeout: float = 180.0) -> dict:
    """The four steps; returns timings (seconds) and the downloaded GIF's path."""
    from selenium.webdriver.common.by import By

    def shot(name: str, settle: float = 0.5) -> None:
        if shots is not None:
            screenshot(driver, shots / f"serve-{name}.png", settle)

    times: dict = {}
    driver.get(url)
    _wait(driver, "document.body.dataset.ready === '1'", 30, "the page loads its options")
    shot("1-upload")
    t0 = time.monotonic()
    driver.find_element(By.ID, "file").send_keys(str(SAMPLE))  # the hidden <input type=file>
    _wait(driver, THUMBS_LOADED.format(grid="#styles"), timeout, "the style thumbnails")
    times["upload_to_styles"] = time.monotonic() - t0
    driver.find_element(By.CSS_SELECTOR, f"#styles .choice[data-name='{style}']").click()
    shot("2-style")
    t1 = time.monotonic()
    driver.find_element(By.ID, "to-3").click()
    _wait(driver, THUMBS_LOADED.format(grid="#exprs"), timeout, "the expression thumbnails")
    times["expression_thumbnails"] = time.monotonic() - t1
    driver.find_element(By.CSS_SELECTOR, f"#exprs .choice[data-name='{expr}']").click()
    shot("3-expression", settle=1.0)  # half a loop: the faces are at their expression
    t2 = time.monotonic()
    driver.find_element(By.ID, "to-4").click()
    _wait(driver, "!document.getElementById('result').hidden && "
                  "document.getElementById('result-image') && document.getElementById('result-image').complete "
                  "&& document.getElementById('result-image').naturalWidth > 0", timeout, "the emoticon")
    times["make"] = time.monotonic() - t2
    times["upload_to_first_result"] = time.monotonic() - t0
    shot("4-result", settle=1.0)
    times["gif"] = click_download(driver, "#format-buttons button[data-format='gif']", ".gif",
                                  download_dir)
    return times


def click_download(driver, selector: str, suffix: str, download_dir: Path,
                   timeout: float = 120.0) -> Path:
    """Click a download button; the new file with `suffix` once the browser has saved it."""
    from selenium.webdriver.common.by import By

    before = set(download_dir.iterdir())
    driver.find_element(By.CSS_SELECTOR, selector).click()
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        new = [p for p in set(download_dir.iterdir()) - before if p.suffix == suffix]
        if new:
            return new[0]
        banner = driver.execute_script(
            "const b = document.getElementById('banner'); return b.hidden ? null : b.innerText;")
        if banner:
            raise AssertionError(f"download {selector}: the page says {banner!r}")
        time.sleep(0.1)
    raise AssertionError(f"no {suffix} was downloaded by {selector}")


def upload_expecting_error(driver, url: str, photo: Path, shot: Optional[Path] = None,
                           timeout: float = 120.0) -> str:
    """Upload `photo` on a fresh page and return the error banner's text."""
    from selenium.webdriver.common.by import By

    driver.get(url)
    _wait(driver, "document.body.dataset.ready === '1'", 30, "the page loads its options")
    driver.find_element(By.ID, "file").send_keys(str(photo))
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = driver.execute_script(
            "const b = document.getElementById('banner'); return b.hidden ? null : b.innerText;")
        if text:
            if shot is not None:
                screenshot(driver, shot)
            return " ".join(text.replace("×", "").split())
        time.sleep(0.05)
    raise AssertionError(f"no error shown for {photo.name} within {timeout:.0f} s")


def check_gif(path: Path) -> tuple[int, tuple[int, int]]:
    """(frames, size) of a valid animated GIF; AssertionError otherwise."""
    from PIL import Image

    with Image.open(path) as img:
        assert img.format == "GIF", img.format
        assert img.n_frames > 1, "not animated"
        img.seek(img.n_frames - 1)  # decodes every frame: a truncated file fails here
        return img.n_frames, img.size


def main(argv=None) -> int:
    import tempfile

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shots", type=Path, help="folder for serve-<step>.png screenshots")
    parser.add_argument("--style", default="baby")
    parser.add_argument("--expr", default="surprise")
    args = parser.parse_args(argv)
    sys.path.insert(0, str(ROOT))
    if args.shots:
        args.shots.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        (tmp / "downloads").mkdir()
        start = time.monotonic()
        with running_server(tmp / "jobs") as url, chromium(tmp / "downloads") as driver:
            times = walk(driver, url, tmp / "downloads", args.shots, args.style, args.expr)
            frames, size = check_gif(times.pop("gif"))
            no_face = tmp / "coffee.png"
            from PIL import Image
            from skimage import data

            Image.fromarray(data.coffee()).save(no_face)
            shot = args.shots / "serve-error-no-face.png" if args.shots else None
            print(f"{'no face':>24}: {upload_expecting_error(driver, url, no_face, shot)}")
        total = time.monotonic() - start
    for key, value in times.items():
        print(f"{key:>24}: {value:6.2f} s")
    print(f"{'downloaded GIF':>24}: {frames} frames, {size[0]}x{size[1]}")
    print(f"{'whole walk':>24}: {total:6.2f} s (server start, browser start, four steps)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
