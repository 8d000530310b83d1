"""Open every page of site/ in headless Chromium, from file://, and check what a reader sees.

    make check-pages      # after make pages; screenshots go to site-check/

It fails (exit 1, one line per problem) when a page doesn't load, an image didn't load
(naturalWidth 0), a page asks the network for anything (a CDN script or font), a cell's
output shows a Python traceback, or the index does not link every lesson.
"""

import argparse
import re
import sys
from pathlib import Path

from playwright.sync_api import Error, sync_playwright

ROOT = Path(__file__).resolve().parent.parent
LESSON = re.compile(r"^ker\d+[a-z]*_\w+$")
CHROMIUM = "/usr/bin/chromium"  # Debian's chromium package; .ci/run installs it
CHROMIUM_FLAGS = [  # the closed network: no background connections to try and fail
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENSHOTS = {"index": "index.png", "ker5_cifar10_cnn": "ker5_cifar10_cnn.png"}


def check_page(page, path, problems):
    """Load one page; append what is wrong with it to problems."""
    remote = []
    page.on("request", lambda r: remote.append(r.url) if not r.url.startswith("file:") else None)
    try:
        response = page.goto(path.as_uri(), wait_until="load")
    except Error as error:
        problems.append(f"{path.name}: does not load ({str(error).splitlines()[0]})")
        return
    if response is not None and not response.ok:
        problems.append(f"{path.name}: does not load (status {response.status})")
    broken = page.eval_on_selector_all(
        "img", "imgs => imgs.filter(i => !i.complete || i.naturalWidth === 0).map(i => i.src)"
    )
    problems += [f"{path.name}: image did not load: {src}" for src in broken]
    problems += [f"{path.name}: asks the network for {url}" for url in remote]
    outputs = page.eval_on_selector_all(".cell_output", "cells => cells.map(c => c.innerText)")
    if any("Traceback (most recent call last)" in text for text in outputs):
        problems.append(f"{path.name}: a cell's output shows a traceback")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--site", default=ROOT / "site", type=Path, help="(default: site/)")
    parser.add_argument("--shots", default=ROOT / "site-check", type=Path, help="screenshots")
    args = parser.parse_args()
    pages = sorted(args.site.glob("*.html"))
    lessons = {p.stem for p in pages if LESSON.match(p.stem)}
    expected = {p.stem for p in ROOT.glob("ker[0-9]*_*.py")}
    problems = [f"no page for {name}" for name in sorted(expected - lessons)]
    args.shots.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        for path in pages:
            check_page(page, path, problems)
            if path.stem in SCREENSHOTS:
                page.screenshot(path=args.shots / SCREENSHOTS[path.stem], full_page=True)
            if path.stem == "index":
                links = page.eval_on_selector_all("a", "links => links.map(a => a.href)")
                linked = {Path(link.split("#")[0]).stem for link in links}
                problems += [f"index.html: no link to {name}" for name in sorted(expected - linked)]
        browser.close()
    for problem in problems:
        print(f"error: {problem}", file=sys.stderr)
    print(f"checked {len(pages)} pages; screenshots in {args.shots}")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
