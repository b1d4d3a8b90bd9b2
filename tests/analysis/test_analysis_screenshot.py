"""Render the report in headless Chromium (skipped when no browser is installed)."""

from __future__ import annotations

import pytest

from analysis.cli import report_main
from analysis.screenshot import find_browser, screenshot
from analysis.synthetic import make_result


@pytest.mark.skipif(find_browser() is None, reason="no chromium / chrome installed")
def test_report_screenshot(tmp_path):
    from PIL import Image

    out = tmp_path / "r"
    assert report_main([str(make_result(tmp_path / "s.h5", n_steps=16)), "-o", str(out)]) == 0
    png = screenshot(out / "index.html", tmp_path / "shot.png", width=1000, height=1500)
    img = Image.open(png).convert("L")
    assert img.size == (1000, 1500)
    # A blank or error page is (nearly) uniform; the report has text, tables and figures.
    lo, hi = img.getextrema()
    assert hi - lo > 100
    assert len(set(img.getdata())) > 20


def test_missing_browser_is_reported(tmp_path):
    with pytest.raises(FileNotFoundError, match="no headless browser"):
        screenshot(tmp_path / "x.html", tmp_path / "x.png", browser="definitely-not-a-browser-xyz")
