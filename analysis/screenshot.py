"""Render a report page in headless Chromium and save a screenshot (PNG).

Use it to look at a report as a person would, e.g. after changing the page
layout or the figures::

    python -m analysis.screenshot report/index.html -o report/screenshot.png
    python -m analysis.screenshot report/index.html --height 6000   # whole page

The script looks for ``chromium``, ``chromium-browser``, ``google-chrome`` or
the executable given with ``--browser``; it exits with code 2 if none is found.
The page is opened as a ``file://`` URL with networking effectively unused
(the report references no network resource).
"""

from __future__ import annotations

import argparse
import logging
import shutil
import subprocess
import sys
from pathlib import Path

logger = logging.getLogger(__name__)

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def find_browser(explicit: str | None = None) -> str | None:
    """Path of a Chromium-like executable, or ``None``."""
    for name in ((explicit,) if explicit else BROWSERS):
        path = shutil.which(name)
        if path:
            return path
    return None


def screenshot(page: str | Path, out: str | Path, *, width: int = 1200, height: int = 4000,
               browser: str | None = None, timeout_s: float = 60.0) -> Path:
    """Screenshot ``page`` into ``out`` with headless Chromium.

    Parameters
    ----------
    page : str or pathlib.Path
        The HTML file.
    out : str or pathlib.Path
        PNG to write.
    width, height : int
        Window size [px]; the screenshot covers the window, so choose a height
        that holds the whole page.
    browser : str, optional
        Executable name or path; default: the first of :data:`BROWSERS` found.
    timeout_s : float
        Give up after this long [s].

    Returns
    -------
    pathlib.Path
        The screenshot.

    Raises
    ------
    FileNotFoundError
        If no browser is installed.
    RuntimeError
        If the browser fails or writes no screenshot.
    """
    exe = find_browser(browser)
    if exe is None:
        raise FileNotFoundError(f"no headless browser found (tried {', '.join(BROWSERS)}); install chromium")
    out = Path(out).resolve()
    out.unlink(missing_ok=True)
    cmd = [exe, "--headless", "--no-sandbox", "--disable-gpu", "--hide-scrollbars",
           f"--window-size={width},{height}", f"--screenshot={out}", Path(page).resolve().as_uri()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout_s, check=False)
    if not out.is_file():
        raise RuntimeError(f"{exe} wrote no screenshot (exit {proc.returncode}): {proc.stderr.strip()[-500:]}")
    logger.info("screenshot of %s written to %s", page, out)
    return out


def main(argv: list[str] | None = None) -> int:
    """Command line: ``python -m analysis.screenshot PAGE [-o PNG]``."""
    parser = argparse.ArgumentParser(prog="python -m analysis.screenshot", description=__doc__.splitlines()[0])
    parser.add_argument("page", help="report HTML page")
    parser.add_argument("-o", "--out", help="PNG to write (default: screenshot.png next to the page)")
    parser.add_argument("--width", type=int, default=1200)
    parser.add_argument("--height", type=int, default=4000)
    parser.add_argument("--browser", help="browser executable")
    args = parser.parse_args(argv)
    out = args.out or str(Path(args.page).with_name("screenshot.png"))
    try:
        path = screenshot(args.page, out, width=args.width, height=args.height, browser=args.browser)
    except (FileNotFoundError, RuntimeError) as exc:
        print(f"screenshot: error: {exc}", file=sys.stderr)
        return 2
    print(f"screenshot written to {path}")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
