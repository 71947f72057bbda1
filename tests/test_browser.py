"""The rendered smoke book in a real headless Chromium: pages load, figures show, math renders, links resolve.
``EMOPROBE_BOOK_HTML=_build/html`` runs the same checks on a book already built (the quick one, say).

Needs Debian's chromium (`.ci/run` installs it); without one these tests are skipped and say why.
"""

import functools
import http.server
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urljoin, urlparse

import pytest

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = [
    pytest.mark.slow,
    pytest.mark.browser,
    pytest.mark.skipif(CHROMIUM is None, reason="no headless Chromium on this machine "
                       "(install Debian's `chromium` package; .ci/run does)"),
]
# Flags that keep Chromium from reaching for the network at start-up (this machine has none).
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage"]


@pytest.fixture(scope="module")
def site(request):
    """The book served over HTTP: the smoke book built for the tests, or an already built book named by
    ``EMOPROBE_BOOK_HTML`` (e.g. ``_build/html`` after ``make book``, to check the quick book itself)."""
    given = os.environ.get("EMOPROBE_BOOK_HTML")
    html = Path(given).resolve() if given else Path(request.getfixturevalue("smoke_book")["html"])
    if not (html / "index.html").is_file():
        pytest.fail(f"EMOPROBE_BOOK_HTML={given}: no index.html there; expected a built book (make book)")
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(html))
    handler.log_message = lambda *a, **k: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_port}/", "html": html}
    server.shutdown()


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=FLAGS)
        yield b
        b.close()


def _pages(html: Path):
    return sorted(p.relative_to(html).as_posix() for p in html.rglob("*.html")
                  if not p.relative_to(html).parts[0].startswith("_"))


def test_every_page_loads_offline_with_figures_math_and_working_links(site, browser):
    html, base = site["html"], site["url"]
    pages = _pages(html)
    assert "index.html" in pages and any(p.startswith("notebooks/") for p in pages)
    page = browser.new_page()
    external, failed = [], []
    page.on("request", lambda r: external.append(r.url) if urlparse(r.url).hostname != "127.0.0.1" else None)
    page.on("requestfailed", lambda r: failed.append(r.url))
    math_pages = 0
    for rel in pages:
        if 'http-equiv="Refresh"' in (html / rel).read_text()[:200]:  # index.html only redirects to the root
            target = (html / rel).read_text().split("url=")[1].split('"')[0]
            assert (html / Path(rel).parent / target).is_file(), f"{rel} redirects to a missing {target}"
            continue
        response = page.goto(base + rel, wait_until="load")
        assert response is not None and response.ok, f"{rel}: HTTP {response and response.status}"
        assert page.title(), f"{rel} has no title"
        # figures: every image decoded to real pixels
        broken = page.eval_on_selector_all("img", "els => els.filter(e => !(e.complete && e.naturalWidth > 0))"
                                                  ".map(e => e.src)")
        assert not broken, f"{rel}: images that did not load: {broken}"
        # math: wait for MathJax to typeset, then no raw TeX delimiters remain in the text
        if page.evaluate("() => document.querySelector('.math') !== null"):
            math_pages += 1
            page.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise")
            page.evaluate("() => MathJax.startup.promise")
            assert page.evaluate("() => document.querySelectorAll('mjx-container').length") > 0, rel
            assert page.evaluate("() => document.querySelectorAll('mjx-merror').length") == 0, rel
        # internal links resolve to files of the book
        for href in page.eval_on_selector_all("a[href]", "els => els.map(e => e.href)"):
            url = urlparse(urljoin(base + rel, href))
            if url.hostname == "127.0.0.1" and url.path:
                target = html / url.path.lstrip("/")
                assert target.exists() or (target / "index.html").exists(), f"{rel}: broken link {href}"
    assert math_pages >= 1, "no page with math was checked"
    assert not failed, f"requests that failed: {failed[:5]}"
    assert not external, f"the book reached for the network: {external[:5]}"


def test_notebook_chapters_show_figures(site, browser):
    page = browser.new_page()
    for rel in _pages(site["html"]):
        if rel.startswith("notebooks/"):
            page.goto(site["url"] + rel, wait_until="load")
            sizes = page.eval_on_selector_all("img", "els => els.map(e => [e.naturalWidth, e.naturalHeight])")
            assert sizes and all(w > 100 and h > 100 for w, h in sizes), (rel, sizes)
            assert "Parameters of this run" in page.inner_text("body")


# what a page may not exceed: a 1280-pixel-wide window, as on a laptop
WIDE = {"width": 1280, "height": 900}
OVERFLOW = """() => {
  const out = [];
  if (document.documentElement.scrollWidth > window.innerWidth + 1) out.push('page ' + document.documentElement.scrollWidth);
  for (const t of document.querySelectorAll('article table')) {
    const box = t.parentElement.getBoundingClientRect();
    if (t.getBoundingClientRect().width > box.width + 1 || t.scrollWidth > t.clientWidth + 1)
      out.push('table ' + Math.round(t.getBoundingClientRect().width) + ' > ' + Math.round(box.width) + ': '
               + t.innerText.slice(0, 60));
  }
  return out;
}"""


def test_results_page_leads_to_every_finding_and_its_summary_figure(site, browser):
    from emoprobe.results import FINDINGS

    page = browser.new_page(viewport=WIDE)
    page.goto(site["url"] + "book/results.html", wait_until="load")
    links = dict(page.eval_on_selector_all("article table a[href]", "els => els.map(e => [e.innerText, e.href])"))
    assert set(links) == set(FINDINGS), links
    for finding, href in links.items():
        chapter = FINDINGS[finding].chapter
        assert href.endswith(f"notebooks/{chapter}.html"), (finding, href)
        page.goto(href, wait_until="load")
        # the chapter's first figure is its summary, above the parameter box, decoded to real pixels
        first = page.eval_on_selector("article img", "e => [e.naturalWidth, e.naturalHeight, "
                                      "e.compareDocumentPosition(document.querySelector('.admonition.note')) "
                                      "& Node.DOCUMENT_POSITION_FOLLOWING]")
        assert first[0] > 100 and first[1] > 100 and first[2], (chapter, first)
        assert "The paper beside this build" in page.inner_text("article")


def test_no_page_is_wider_than_a_laptop_window(site, browser):
    page = browser.new_page(viewport=WIDE)
    wide = {}
    for rel in _pages(site["html"]):
        if 'http-equiv="Refresh"' in (site["html"] / rel).read_text()[:200]:
            continue  # index.html only redirects
        page.goto(site["url"] + rel, wait_until="load")
        problems = page.evaluate(OVERFLOW)
        if problems:
            wide[rel] = problems
    assert not wide, wide
