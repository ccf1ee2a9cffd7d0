"""The pictures of the app the docs show, taken in Debian's Chromium from a server started here.

    python -m scripts.screenshots            # docs/screenshot.png, docs/phone.png, docs/realworld/as_it_is.png
    python -m scripts.screenshots --out /tmp/shots

The README's pictures are the default page with the comparison tab open, on a laptop and on a phone's
first screen (390 x 844 CSS pixels); the real-world page's is a simulated phone photo denoised "as it is".
Tests never write into docs/: this command does.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path

import numpy as np

from deploy.launch import free_port, start_server, stop_server, wait_healthy

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = os.environ.get("DENOISER_CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]
LAPTOP = {"viewport": {"width": 1440, "height": 1000}}
PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}
# The main view's pictures, and st.image's (the as-it-is view's).
IMAGES_JS = (
    "n => [...document.querySelectorAll('.dn-pictures img, [data-testid=\"stImage\"] img')]"
    ".filter(i => i.complete && i.naturalWidth > 0).length >= n"
)


def default_page(page, out: Path) -> Path:
    """The page a visitor opens, tall enough to show the comparison table under the pictures."""
    page.set_viewport_size({"width": 1440, "height": 1750})
    page.wait_for_function(IMAGES_JS, arg=3)
    page.locator('[data-testid="stMarkdownContainer"] table').first.wait_for()
    page.wait_for_timeout(1500)  # let the page settle
    page.screenshot(path=str(out / "screenshot.png"), full_page=True)
    return out / "screenshot.png"


def phone_page(page, out: Path) -> Path:
    """The first screen a visitor sees on a phone."""
    page.wait_for_function(IMAGES_JS, arg=3)
    page.locator(".dn-figure").first.wait_for()
    page.wait_for_timeout(1500)
    page.screenshot(path=str(out / "phone.png"))
    return out / "phone.png"


def as_it_is(page, out: Path, data_root: Path) -> Path:
    """A phone photo of a test digit, uploaded and denoised as it is."""
    from denoiser.bench import simulate
    from denoiser.data import load_mnist

    digit = load_mnist(data_root, "test").images[0, 0].numpy()
    with tempfile.TemporaryDirectory() as folder:
        photo = Path(folder) / "photo.jpg"
        photo.write_bytes(simulate.phone_photo(digit, np.random.default_rng(0), height=300))
        page.locator('[data-testid="stButtonGroup"]').get_by_text("Upload", exact=True).click()
        page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(photo))
        page.get_by_text("the digit was found in the red box").wait_for(timeout=30_000)
        page.locator('[data-testid="stSelectbox"]').filter(has_text="Noise kind").click()
        page.get_by_role("option", name="None: denoise the picture as it is").click()
        page.get_by_text("Noise level, denoised").wait_for(timeout=30_000)
        page.wait_for_function(IMAGES_JS, arg=3)
        page.wait_for_timeout(1000)
        (out / "realworld").mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(out / "realworld" / "as_it_is.png"), full_page=False)
    return out / "realworld" / "as_it_is.png"


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder of the docs pictures")
    parser.add_argument("--data-root", type=Path, default=os.environ.get("DENOISER_DATA_ROOT", "../shared/mnist"))
    args = parser.parse_args(argv)
    from playwright.sync_api import sync_playwright

    port = free_port()
    server = start_server(port)
    try:
        wait_healthy(f"http://127.0.0.1:{port}", server)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
            shots = (
                (default_page, LAPTOP),
                (phone_page, PHONE),
                (lambda pg, out: as_it_is(pg, out, args.data_root), LAPTOP),
            )
            for shoot, screen in shots:
                page = browser.new_context(**screen).new_page()
                page.set_default_timeout(60_000)
                page.goto(f"http://127.0.0.1:{port}")
                print(shoot(page, args.out))
                page.context.close()
            browser.close()
    finally:
        stop_server(server)


if __name__ == "__main__":
    main()
