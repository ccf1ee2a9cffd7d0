"""The app in a real browser: `streamlit run app.py` on a free local port, driven by Playwright + Chromium.

Checks what a person sees: the three digit images load, moving the noise slider changes the
noisy PSNR, and a stroke drawn on the canvas becomes the digit. Screenshots go to a temporary
folder (the docs' own come from `python -m scripts.screenshots`). Without Chromium or Playwright the
test is skipped on a developer's machine and fails under CI=true.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
from conftest import CHROMIUM, CHROMIUM_ARGS, headless_chromium

from deploy.launch import free_port, start_server, stop_server, wait_healthy

pytestmark = [pytest.mark.browser, pytest.mark.server]


@pytest.fixture(scope="module")
def server_url(tmp_path_factory):
    """A Streamlit server running app.py on a free loopback port, stopped after the tests."""
    port = free_port()
    server = start_server(port, tmp_path_factory.mktemp("server") / "streamlit.log")
    url = f"http://127.0.0.1:{port}"
    try:
        wait_healthy(url, server)
        yield url
    finally:
        stop_server(server)


@pytest.fixture(scope="module")
def browser():
    with headless_chromium() as chromium:
        yield chromium


@pytest.fixture
def page(browser, server_url):
    context = browser.new_context(viewport={"width": 1440, "height": 1000})
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server_url)
    yield page
    context.close()


def figure(page, label: str):
    """The figure labelled `label` ("Noisy PSNR"): one of the main view's, or a metric (the as-it-is view's)."""
    labelled = page.locator(".dn-label, [data-testid=stMetricLabel]", has_text=label)
    return page.locator(".dn-figure, [data-testid=stMetric]").filter(has=labelled)


def metric_text(page, label: str) -> str:
    return figure(page, label).locator(".dn-value, [data-testid=stMetricValue]").inner_text()


def wait_for_change(page, label: str, old: str, timeout: float = 30.0) -> str:
    """Wait until metric `label` shows something other than `old`; return the new text."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        text = metric_text(page, label)
        if text != old:
            return text
        page.wait_for_timeout(200)
    raise AssertionError(f"{label} stayed at {old} for {timeout:.0f} s")


def wait_for_images(page, count: int = 3) -> None:
    page.wait_for_function(
        "n => [...document.querySelectorAll('.dn-pictures img, [data-testid=\"stImage\"] img')].filter(i => i.complete"
        " && i.naturalWidth > 0).length >= n",
        arg=count,
    )


def draw_seven(page) -> None:
    """Drag the mouse over the canvas in the shape of a 7."""
    canvas = page.locator("canvas.upper-canvas").first
    canvas.wait_for()
    box = canvas.bounding_box()
    x, y, w, h = box["x"], box["y"], box["width"], box["height"]
    page.mouse.move(x + 0.25 * w, y + 0.2 * h)
    page.mouse.down()
    page.mouse.move(x + 0.75 * w, y + 0.2 * h, steps=12)
    page.mouse.move(x + 0.45 * w, y + 0.85 * h, steps=16)
    page.mouse.up()


def until_drawn(page, draw, tries: int = 3) -> None:
    """`draw` on the canvas until the page takes the drawing instead of the sample digit. A stroke drawn the moment
    the canvas appears is now and then lost (it may still be loading its blank drawing, which clears it), and a
    visitor draws it again. A page that never takes a drawing fails."""
    from playwright.sync_api import TimeoutError as PlaywrightTimeout

    meanwhile = page.get_by_text("Meanwhile, the page shows the sample digit.")
    for _ in range(tries - 1):
        draw()
        try:
            meanwhile.wait_for(state="detached", timeout=15_000)
            return
        except PlaywrightTimeout:
            continue
    draw()
    meanwhile.wait_for(state="detached")


def test_page_slider_and_canvas(page, tmp_path):
    """Images load, the noise slider changes the noisy PSNR, a drawn stroke becomes the digit; screenshot."""
    wait_for_images(page)
    figure(page, "Noisy PSNR").wait_for()
    before = metric_text(page, "Noisy PSNR")

    thumb = page.locator('[data-testid="stSlider"]').filter(has_text="Noise level").get_by_role("slider")
    thumb.focus()
    for _ in range(4):  # 0.50 -> 0.30 in steps of 0.05
        thumb.press("ArrowLeft")
    after = wait_for_change(page, "Noisy PSNR", before)
    assert float(after.split()[0]) > float(before.split()[0])  # less noise, higher PSNR

    page.locator('[data-testid="stButtonGroup"]').get_by_text("Draw", exact=True).click()
    until_drawn(page, lambda: draw_seven(page))
    drawn = wait_for_change(page, "Noisy PSNR", after)
    assert drawn != after
    wait_for_images(page)
    assert "level=0.3" in page.url and "source=draw" in page.url

    page.set_viewport_size({"width": 1440, "height": 1750})  # tall enough for the comparison tab
    page.locator('[data-testid="stMarkdownContainer"] table').first.wait_for()  # the comparison, before the screenshot
    page.wait_for_timeout(1500)  # let the page settle
    page.screenshot(path=str(tmp_path / "page.png"), full_page=True)
    assert (tmp_path / "page.png").stat().st_size > 10_000

    page.get_by_role("button", name="Clear", exact=True).click()
    page.get_by_text("Meanwhile, the page shows the sample digit.").wait_for()  # blank again: the sample is back


def test_retrain_in_the_browser(page):
    """A tiny retraining shows its progress, then the retrained model with its held-out PSNR."""
    page.locator(".st-key-view").get_by_text("Retrain", exact=True).click()
    digits = page.locator('[data-testid="stSlider"]').filter(has_text="Training digits").get_by_role("slider")
    digits.focus()
    digits.press("Home")  # the fewest digits: 64
    page.wait_for_function("el => el.getAttribute('aria-valuetext') === '64'", arg=digits.element_handle())
    page.get_by_role("button", name="Retrain", exact=True).click()
    page.get_by_text("Your session uses a retrained").wait_for(timeout=120_000)
    assert "retrained in this session" in page.locator('[data-testid="stSidebar"]').inner_text()


def test_download_gives_the_denoised_digit_enlarged(page):
    """The page shows digits enlarged 8x with square pixels; "Denoised PNG" downloads that crisp 224x224 picture."""
    import io

    import numpy as np
    from PIL import Image

    wait_for_images(page)
    shown = page.locator(".dn-pictures img").nth(2)
    assert shown.evaluate("img => [img.naturalWidth, img.naturalHeight]") == [224, 224]  # sent enlarged
    assert shown.bounding_box()["width"] > 200
    with page.expect_download() as download:
        page.get_by_role("link", name="Denoised PNG").click()
    assert download.value.suggested_filename == "denoised.png"
    image = Image.open(io.BytesIO(Path(download.value.path()).read_bytes()))
    assert image.size == (224, 224)
    pixels = np.asarray(image.convert("L"))
    assert (pixels[::8, ::8].repeat(8, 0).repeat(8, 1) == pixels).all()  # nearest-neighbour blocks
    assert pixels.max() > 200 and pixels.min() < 50  # a digit, not a blank


def test_an_upload_over_the_size_cap_is_refused_on_the_page(page, tmp_path):
    """`.streamlit/config.toml` caps uploads at 20 MB (a phone's photo is less): a 21 MB file gets a message, the page
    keeps working."""
    wait_for_images(page)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Upload", exact=True).click()
    big = tmp_path / "huge.png"
    big.write_bytes(b"\x89PNG\r\n\x1a\n" + os.urandom(21 * 1024 * 1024))
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(big))
    page.get_by_text("File must be 20.0MB or smaller").wait_for(timeout=15_000)  # Streamlit's own refusal
    assert page.locator('[data-testid="stException"]').count() == 0
    assert metric_text(page, "Noisy PSNR")  # the sample digit is still denoised


def test_a_twelve_megapixel_photo_of_a_number_is_uploaded_and_read(page, tmp_path, test_digits):
    """A phone's photo is larger than a few MB: it is taken, and its number read on the page."""
    import numpy as np

    from denoiser import find_digits
    from denoiser.bench import sheets

    data, _ = sheets.big_photo(test_digits, np.random.default_rng(2))  # 4608 x 2592, vignetted, grainy
    assert len(data) > 2 * 1024 * 1024
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(data)
    wait_for_images(page)
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(photo))
    page.get_by_text(find_digits(data).lines[0], exact=False).first.wait_for(timeout=60_000)
    assert page.locator('[data-testid="stException"]').count() == 0


def test_a_phone_photo_is_found_and_denoised_as_it_is(page, tmp_path, test_digits):
    """A visitor uploads a phone photo: the page shows it with the box where the digit was found; with
    "as it is", the denoised digit and the figures that need no original, with no exception."""
    import numpy as np

    from denoiser.bench import simulate

    wait_for_images(page)
    photo = tmp_path / "photo.jpg"
    photo.write_bytes(simulate.phone_photo(test_digits.images[0, 0].numpy(), np.random.default_rng(0), height=300))
    page.locator('[data-testid="stButtonGroup"]').get_by_text("Upload", exact=True).click()
    page.locator('[data-testid="stFileUploader"] input[type="file"]').set_input_files(str(photo))
    page.get_by_text("the digit was found in the red box").wait_for(timeout=30_000)
    assert metric_text(page, "Noisy PSNR")
    page.locator('[data-testid="stSelectbox"]').filter(has_text="Noise kind").click()
    page.get_by_role("option", name="None: denoise the picture as it is").click()
    page.get_by_text("Noise level, denoised").wait_for(timeout=30_000)
    wait_for_images(page, 3)  # the uploaded picture, the digit as it is, the denoised digit
    assert "(" in metric_text(page, "The classifier reads, denoised")  # a digit and its confidence
    assert page.locator('[data-testid="stException"]').count() == 0
    page.screenshot(path=str(tmp_path / "as_it_is.png"), full_page=False)


def camera_video(frame, path: Path) -> Path:
    """A video file for Chromium's fake camera (`--use-file-for-fake-video-capture`) that shows `frame` (H, W) uint8
    grey: Y4M, 4:2:0, a few frames of the same picture."""
    import numpy as np

    height, width = frame.shape
    grey = np.full((height // 2, width // 2), 128, np.uint8).tobytes()  # no colour
    with path.open("wb") as video:
        video.write(f"YUV4MPEG2 W{width} H{height} F5:1 Ip A1:1 C420jpeg\n".encode())
        for _ in range(5):
            video.write(b"FRAME\n" + frame.tobytes() + grey + grey)
    return path


def test_a_number_photographed_with_the_camera_is_read_on_the_page(browser, server_url, tmp_path, test_digits):
    """The Camera source in a real browser, its camera a fake one that films a row of ten digits: the visitor
    takes the photo, and the page reads the number and shows its first digit."""
    import io

    import numpy as np
    from conftest import number_picture
    from PIL import Image
    from playwright.sync_api import expect

    row = np.asarray(Image.open(io.BytesIO(number_picture(test_digits, "1234567890"))).convert("L"))
    frame = np.full((720, 1280), 255, np.uint8)  # a webcam's frame, the row of digits in its middle
    top, left = (720 - row.shape[0]) // 2, (1280 - row.shape[1]) // 2
    frame[top : top + row.shape[0], left : left + row.shape[1]] = row
    video = camera_video(frame, tmp_path / "camera.y4m")
    fake_camera = ("--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
                   f"--use-file-for-fake-video-capture={video}")  # fmt: skip
    # a second Chromium of the same Playwright, for its command line
    chromium = browser.browser_type.launch(executable_path=CHROMIUM, args=[*CHROMIUM_ARGS, *fake_camera])
    try:
        context = chromium.new_context(viewport={"width": 1440, "height": 1000}, permissions=["camera"])
        page = context.new_page()
        page.set_default_timeout(60_000)
        page.goto(server_url)
        wait_for_images(page)
        page.locator('[data-testid="stButtonGroup"]').get_by_text("Camera", exact=True).click()
        # a photo taken before the camera's first frame is a blank one
        page.wait_for_function("document.querySelector('[data-testid=\"stCameraInput\"] video')?.readyState >= 2")
        page.get_by_role("button", name="Take Photo").click()
        page.get_by_text("Line 1:").wait_for()
        assert "1234567890" in page.locator('[data-testid="stMarkdownContainer"]', has_text="Line 1:").inner_text()
        choice = page.get_by_role("combobox", name="Digit shown in the main view")
        expect(choice).to_have_value("1: 1 (line 1)")  # the first digit fills the main view
        assert page.locator('[data-testid="stException"]').count() == 0
        context.close()
    finally:
        chromium.close()


PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


@pytest.fixture
def phone(browser, server_url):
    """The page in a phone's browser: 390 x 844 CSS pixels, touch."""
    context = browser.new_context(**PHONE)
    page = context.new_page()
    page.set_default_timeout(60_000)
    page.goto(server_url)
    yield page
    context.close()


def finger(page, element, path: list[tuple[float, float]]) -> None:
    """Drag one finger along `path` (fractions of the element's box) with real touch events."""
    box = element.bounding_box()
    touch = page.context.new_cdp_session(page)

    def send(kind: str, point: tuple[float, float] | None) -> None:
        points = [] if point is None else [{"x": box["x"] + point[0] * box["width"],
                                            "y": box["y"] + point[1] * box["height"]}]  # fmt: skip
        touch.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

    send("touchStart", path[0])
    for point in path[1:]:
        send("touchMove", point)
        page.wait_for_timeout(15)
    send("touchEnd", None)


def test_on_a_phone_the_three_pictures_stand_in_one_row_on_the_first_screen_with_the_slider(phone):
    wait_for_images(phone)
    # Read in one go: the page may still move as its last parts arrive, and the pictures move with it.
    boxes = phone.evaluate("""() => [...document.querySelectorAll('.dn-pictures img'),
                                     document.querySelector('.st-key-noise_level')].map(e => {
        const r = e.getBoundingClientRect();
        return {x: r.x, y: r.y + window.scrollY, width: r.width, height: r.height};
    })""")
    boxes, slider = boxes[:3], boxes[-1]
    assert len({round(b["y"]) for b in boxes}) == 1  # one row, not stacked
    assert all(b["x"] >= 0 and b["x"] + b["width"] <= 390 for b in boxes)  # none off the screen's side
    bottom = boxes[0]["y"] + boxes[0]["height"]
    assert bottom <= 1.5 * 844
    assert bottom - slider["y"] <= 844  # the slider and the pictures it changes on one screen


def test_a_finger_on_the_slider_and_on_the_canvas_works_on_a_phone(phone):
    """The noise slider follows a finger, and a digit drawn with a finger is the one the page denoises."""
    figure(phone, "Noisy PSNR").wait_for()
    before = metric_text(phone, "Noisy PSNR")
    thumb = phone.locator('[data-testid="stSlider"]').filter(has_text="Noise level").get_by_role("slider")
    px = 1 / thumb.bounding_box()["width"]  # the thumb's round grip is the box's first 16 px
    finger(phone, thumb, [(px * (8 - 8 * t), 0.5) for t in range(9)])  # 64 px to the left: less noise
    moved = wait_for_change(phone, "Noisy PSNR", before)
    assert float(moved.split()[0]) > float(before.split()[0])

    phone.locator('[data-testid="stButtonGroup"]').get_by_text("Draw", exact=True).tap()
    canvas = phone.locator("canvas.upper-canvas").first
    canvas.wait_for()
    seven = [(0.25 + 0.5 * t / 12, 0.2) for t in range(13)] + [(0.75 - 0.3 * t / 16, 0.2 + 0.65 * t / 16)
                                                                 for t in range(1, 17)]  # fmt: skip
    until_drawn(phone, lambda: finger(phone, canvas, seven))
    assert wait_for_change(phone, "Noisy PSNR", moved) != moved
