"""The HTML report: self-contained, opens offline in headless Chromium without console errors."""

import base64
import shutil

import numpy as np
import pytest
import xarray as xr

from brainalign.io import arrays
from brainalign.report import build_report


def _results(tmp_path, n=2):
    rng = np.random.default_rng(0)
    for i in range(n):
        score = rng.uniform(size=(5, 3))
        amap = xr.Dataset(
            {
                "score": (("layer", "region"), score),
                "ci_low": (("layer", "region"), score - 0.1),
                "ci_high": (("layer", "region"), score + 0.1),
                "p_value": (("layer", "region"), rng.uniform(size=(5, 3))),
            },
            coords={"layer": [f"l{k}" for k in range(5)], "region": ["V1", "V4", "IT"]},
            attrs={
                "method": "rsa",
                "method_params": {"metric": "correlation"},
                "n_stimuli": 40,
                "truth": {"V1": "l0", "IT": "l4"},
                "brainalign_version": "test",
            },
        )
        arrays.save(amap, tmp_path / "maps" / f"data__model__m{i}.nc")
    return tmp_path


def test_report_is_self_contained(tmp_path):
    out = build_report(_results(tmp_path), tmp_path / "report.html")
    page = out.read_text()
    assert page.count('<img src="data:image/png;base64,') == 4
    assert "http://" not in page and "https://" not in page and "<script" not in page
    for b64 in page.split("data:image/png;base64,")[1:]:
        assert base64.b64decode(b64.split('"')[0])[:8] == b"\x89PNG\r\n\x1a\n"
    with pytest.raises(FileExistsError):
        build_report(tmp_path, tmp_path / "report.html")


def _chromium():
    binary = shutil.which("chromium") or shutil.which("chromium-browser")
    driver = shutil.which("chromedriver")
    if not binary or not driver:
        pytest.skip(
            "Debian's chromium and chromium-driver are not installed (apt-get install chromium chromium-driver)"
        )
    webdriver = pytest.importorskip("selenium.webdriver")
    from selenium.webdriver.chrome.service import Service

    opts = webdriver.ChromeOptions()
    opts.binary_location = binary
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-dev-shm-usage",
        "--window-size=1200,900",
    ):
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(service=Service(driver), options=opts)


def test_report_in_headless_chromium(tmp_path):
    out = build_report(_results(tmp_path, n=3), tmp_path / "report.html")
    browser = _chromium()
    try:
        browser.get(out.as_uri())
        images = browser.execute_script(
            "return Array.from(document.images).map(i => [i.complete, i.naturalWidth, i.naturalHeight,"
            " i.getBoundingClientRect().top + window.scrollY, i.getBoundingClientRect().height])"
        )
        height = browser.execute_script("return document.documentElement.scrollHeight")
        shot = browser.execute_cdp_cmd("Page.captureScreenshot", {"format": "png", "captureBeyondViewport": True})
        errors = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    finally:
        browser.quit()
    assert errors == []
    assert len(images) == 6
    for complete, width, img_height, top, shown in images:
        assert complete and width > 100 and img_height > 100 and shown > 50  # decoded and laid out
        assert top + shown <= height  # inside the page the full-page screenshot covers
    png = base64.b64decode(shot["data"])
    (tmp_path / "screenshot.png").write_bytes(png)
    import matplotlib.image as mpimg

    screenshot = mpimg.imread(tmp_path / "screenshot.png")
    assert screenshot.shape[0] >= height * 0.99  # the screenshot covers the whole page, every figure
    assert screenshot.std() > 0.05  # not a blank page
