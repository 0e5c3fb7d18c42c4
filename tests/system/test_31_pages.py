"""The home and bulletins pages carry the bulletins in force in their HTML
(lib/pages.c), so they show with scripts off: a real hub and two real
nodes serving web/, bulletins issued and signed by alliancectl, the pages
fetched as a browser without JavaScript would.

Parts: the alliance (daemons serving the pages); helpers; the bulletin in
the HTML, escaped, with tel: links; caching (no-cache, ETag, 304, a new
ETag for a new bulletin); the area, a cancel and an expiry; bad
requests.
"""

import base64
import hashlib
import http.client
import re
import shutil

import pytest

from conftest import (Hub, Node, ROOT, alliancectl, topology, unique_id,
                      wait_for)

WEB = ROOT / "web"   # copied for each run: a test edits a page file
HOSTILE = "<script>alert(\"x\")</script> & 'quoted' \"gas\""
CALL = "请拨打 0532-12345678 或 120，手机 13800138000；<b>别</b> & '等'"


# ---- the alliance -----------------------------------------------------------

class WebHub(Hub):
    web = WEB

    def config_text(self):
        return super().config_text() + f"[web]\nroot = {self.web}\n"


class WebNode(Node):
    web = WEB

    def config_text(self):
        return super().config_text() + f"[web]\nroot = {self.web}\n"


@pytest.fixture(scope="module")
def alliance(pki, tmp_path_factory):
    """A hub and nodes A and B, every public port serving web/."""
    d = tmp_path_factory.mktemp("pages")
    web = d / "web"
    shutil.copytree(WEB, web)
    WebHub.web = WebNode.web = web
    try:
        with topology(pki, d, ["pa", "pb"], hub_cls=WebHub, node_cls=WebNode,
                      names=["A<街道>", "B<街道>"]) as t:
            yield t.hub, t.nodes[0], t.nodes[1]
    finally:
        WebHub.web = WebNode.web = WEB


# ---- helpers --------------------------------------------------------------

def get(port, path, headers=None, method="GET"):
    """(status, headers dict with lower-case names, body text)."""
    c = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        c.request(method, path, headers=headers or {})
        r = c.getresponse()
        body = r.read().decode("utf-8", "replace")
        return r.status, {k.lower(): v for k, v in r.getheaders()}, body
    finally:
        c.close()


def issue(hub, headline, *extra, instructions=CALL):
    r = alliancectl(hub, "bulletin", "issue", "--headline", headline,
                    "--description", "Gas smell & a hiss on Block 3.",
                    "--cause", "A damaged <pipe>.",
                    "--response", "The gas company is on site.",
                    "--instructions", instructions,
                    "--wait", "--timeout", "20", *extra)
    assert r.returncode == 0, r.stderr + r.stdout
    return r.stdout.splitlines()[0]


def banner(body):
    """The <section id="alerts"> of a page."""
    m = re.search(r'<section id="alerts".*?</section>', body, re.S)
    assert m, body[:500]
    return m.group(0)


def escaped(text):
    return (text.replace("&", "&amp;").replace("<", "&lt;")
            .replace(">", "&gt;").replace('"', "&quot;")
            .replace("'", "&#39;"))


def wait_page_has(port, path, text):
    return wait_for(lambda: text in get(port, path)[2], 10,
                    f"{path} on port {port} to show {text!r}")


# ---- the bulletin in the HTML ----------------------------------------------

def test_pages_carry_the_bulletin_escaped_with_tel_links(alliance):
    hub, a, b = alliance
    headline = f"{HOSTILE} {unique_id('h')}"
    issue(hub, headline, "--area", a.community)
    for port in (a.public_port, hub.public_port):
        for path in ("/", "/index.html", "/bulletins.html"):
            status, h, body = get(port, path)
            assert status == 200, (port, path)
            assert h["content-type"].startswith("text/html")
            top = banner(body)
            # the headline as text, never as markup
            assert escaped(headline) in top
            assert "<script>alert" not in body
            # what to do, with the numbers as tel: links
            assert '<a class="tel" href="tel:053212345678">0532-12345678</a>' in top
            assert '<a class="tel" href="tel:120">120</a>' in top
            assert '<a class="tel" href="tel:13800138000">13800138000</a>' in top
            assert escaped("；<b>别</b> & '等'") in top
            assert "<b>别" not in body
            assert "bulletins.html#b-" in top
            # the page's own script-free notice
            assert '<noscript><p class="noscript">' in body
    # the bulletins page lists it in full: every text, escaped
    _, _, body = get(a.public_port, "/bulletins.html")
    listed = body[body.index('<div id="list">'):]
    for text in (headline, "Gas smell & a hiss on Block 3.",
                 "A damaged <pipe>.", "The gas company is on site."):
        assert escaped(text) in listed, text
    assert "发布单位：" in listed and "有效至" in listed
    assert "正在加载" not in listed   # the static fallback was replaced


def test_pages_without_bulletins_say_so_and_other_pages_stay_static(alliance):
    hub, a, b = alliance
    # (B has had no bulletin yet: the first one was A's alone)
    _, h, body = get(b.public_port, "/bulletins.html")
    assert "目前没有紧急通告" in body and "banner sev-" not in banner(body)
    assert h["cache-control"] == "no-cache"
    _, h, _ = get(a.public_port, "/catalog.html")
    assert h.get("cache-control") == "private, max-age=600"
    assert "etag" in h


def test_the_style_sheet_is_inline_and_allowed_by_its_hash_alone(alliance):
    """One round trip paints the page: the CSS is in it (the shared sheet,
    then the resident pages' own, as one <style>), and the CSP allows
    exactly that style (no 'unsafe-inline')."""
    hub, a, b = alliance
    css = "".join((WEB / "css" / f).read_text()
                  for f in ("site.css", "resident.css"))
    for port in (a.public_port, hub.public_port):
        _, h, body = get(port, "/")
        styles = re.findall(r"<style>(.*?)</style>", body, re.S)
        assert styles == [css]
        assert 'rel="stylesheet"' not in body
        digest = base64.b64encode(hashlib.sha256(css.encode()).digest())
        csp = h["content-security-policy"]
        assert f"style-src 'self' 'sha256-{digest.decode()}';" in csp
        assert "unsafe-inline" not in csp and "script-src 'self';" in csp
    # the other pages link it, under the plain policy
    _, h, body = get(a.public_port, "/catalog.html")
    assert "<style>" not in body and 'href="css/site.css"' in body
    assert 'href="css/resident.css"' in body
    assert "sha256" not in h["content-security-policy"]


# ---- caching -----------------------------------------------------------------

def test_no_cache_etag_304_and_a_new_etag_for_a_new_bulletin(alliance):
    hub, a, b = alliance
    issue(hub, f"Water off {unique_id('w')}", "--area", a.community)
    for port in (a.public_port, hub.public_port):
        for path in ("/", "/bulletins.html"):
            status, h, body = get(port, path)
            assert status == 200
            assert h["cache-control"] == "no-cache"
            etag = h["etag"]
            assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag
            # a matching If-None-Match: 304, no body
            status, h304, body304 = get(port, path, {"If-None-Match": etag})
            assert status == 304 and body304 == ""
            assert h304["etag"] == etag
            # another tag, or a list holding it
            assert get(port, path, {"If-None-Match": '"0000"'})[0] == 200
            assert get(port, path, {"If-None-Match": f'"x", {etag}'})[0] == 304
    _, h, _ = get(a.public_port, "/")
    before = h["etag"]
    headline = f"Second alert {unique_id('s')}"
    issue(hub, headline, "--area", a.community)
    status, h, body = get(a.public_port, "/", {"If-None-Match": before})
    assert status == 200 and h["etag"] != before
    assert escaped(headline) in banner(body)


# ---- the area ------------------------------------------------------------------

def test_a_bulletin_for_another_community_is_not_in_a_nodes_html(alliance):
    hub, a, b = alliance
    headline = f"Only for A {unique_id('o')}"
    issue(hub, headline, "--area", a.community)
    for path in ("/", "/bulletins.html"):
        assert escaped(headline) in get(a.public_port, path)[2]
        assert escaped(headline) not in get(b.public_port, path)[2]
    # the area names the community as the directory does, escaped
    for port in (a.public_port, hub.public_port):
        assert "范围：A&lt;街道&gt;</p>" in get(port, "/bulletins.html")[2]
    # one for everyone reaches B's pages
    everyone = f"For everyone {unique_id('e')}"
    issue(hub, everyone, "--severity", "extreme")
    wait_page_has(b.public_port, "/", escaped(everyone))
    top = banner(get(b.public_port, "/")[2])
    assert 'class="banner sev-extreme big" role="alert"' in top


def test_a_cancelled_bulletin_leaves_the_html(alliance):
    hub, a, b = alliance
    headline = f"To cancel {unique_id('c')}"
    bid = issue(hub, headline, "--area", a.community)
    assert escaped(headline) in get(a.public_port, "/")[2]
    r = alliancectl(hub, "bulletin", "cancel", bid)
    assert r.returncode == 0, r.stderr
    wait_for(lambda: escaped(headline) not in get(a.public_port, "/")[2],
             10, "the cancelled bulletin to leave the home page")
    assert escaped(headline) not in get(a.public_port, "/bulletins.html")[2]


def test_an_expired_bulletin_leaves_the_html_of_a_page_served_before(alliance):
    """The daemon keeps a rendered page until what it shows changes: an
    expiry passing is such a change."""
    hub, a, b = alliance
    headline = f"Short-lived {unique_id('x')}"
    issue(hub, headline, "--area", a.community, "--expires", "3s")
    _, h, body = get(a.public_port, "/")
    assert escaped(headline) in body
    etag = h["etag"]
    assert get(a.public_port, "/", {"If-None-Match": etag})[0] == 304
    wait_for(lambda: escaped(headline) not in get(a.public_port, "/")[2],
             10, "the expired bulletin to leave the home page")
    status, h, _ = get(a.public_port, "/", {"If-None-Match": etag})
    assert status == 200 and h["etag"] != etag


def test_an_edited_page_file_is_served_at_once(alliance):
    hub, a, b = alliance
    page = WebNode.web / "index.html"
    text = page.read_text()
    _, h, _ = get(a.public_port, "/")
    try:
        page.write_text(text.replace("<!--alliance:end-->",
                                     "<!-- edited -->\n<!--alliance:end-->"))
        status, h2, body = get(a.public_port, "/")
        assert status == 200 and "<!-- edited -->" in body
        assert h2["etag"] != h["etag"]
    finally:
        page.write_text(text)
    assert "<!-- edited -->" not in get(a.public_port, "/")[2]


PAGES = {"index.html": "index.html", "catalog.html": "catalog.html",
         "poll.html": "polls.html", "account.html": "account.html",
         "service.html": None, "bulletins.html": "bulletins.html",
         "manage/index.html": "../manage/index.html",
         "manage/polls.html": "../manage/polls.html",
         "manage/outbox.html": "../manage/outbox.html",
         "manage/checkin.html": "../manage/checkin.html",
         "checkin.html": None,
         "notifications.html": "account.html",
         "district/index.html": None}


def test_every_page_is_served_with_the_shell_filled_in(alliance):
    """The document's start, head, skip link, header with navigation and
    footer are written once (web/shell.tpl) and put in each page as it is
    served, rendered or not, the consoles' too: no shell marker left, one
    of each, the skip link first, the page's own link marked current, the
    shell's links relative to a console's folder; an edited shell is
    served at once."""
    hub, a, b = alliance
    shell = WebNode.web / "shell.tpl"
    for port in (a.public_port, hub.public_port):
        for page, current in PAGES.items():
            status, _, body = get(port, "/" + page)
            assert status == 200, page
            left = set(re.findall(r"<!--/?alliance:([a-z-]*[a-z])", body))
            assert left <= {"banner", "style", "bulletins"}, (page, left)
            assert body.startswith('<!doctype html>\n<html lang="zh-CN">\n')
            assert body.count('<meta charset="utf-8">') == 1
            assert body.index('<meta charset="utf-8">') < 200
            assert re.search(r'<body>\n<a class="skip" href="#main"', body)
            assert body.count('<main id="main" tabindex="-1">') == 1
            assert body.count('<header class="site-header">') == 1
            assert body.count('<footer class="site-footer">') == 1
            assert body.count('id="lang-toggle"') == 1, page
            marked = re.findall(r'href="([^"]+)" aria-current="page"', body)
            assert marked == ([current] if current else []), (page, marked)
            if "/" in page:     # a console, one folder down
                assert 'href="../css/site.css"' in body
                assert 'href="../img/icons.svg#home"' in body
                assert not re.search(r'(href|src)="(css|js|img)/', body)
        assert get(port, "/shell.tpl")[0] == 404
    text = shell.read_text()
    _, h, _ = get(a.public_port, "/")
    try:
        shell.write_text(text.replace("</footer>", "</footer><!-- shell edited -->"))
        for path in ("/", "/catalog.html"):
            status, h2, body = get(a.public_port, path)
            assert status == 200 and "<!-- shell edited -->" in body, path
        assert get(a.public_port, "/")[1]["etag"] != h["etag"]
    finally:
        shell.write_text(text)
    for path in ("/", "/catalog.html"):
        assert "<!-- shell edited -->" not in get(a.public_port, path)[2]


def test_an_edited_second_style_sheet_is_served_at_once(alliance):
    """The kept page is made anew when resident.css changes, not only
    site.css: its rules and the CSP hash are the new ones."""
    hub, a, b = alliance
    sheet = WebNode.web / "css" / "resident.css"
    text = sheet.read_text()
    _, h, _ = get(a.public_port, "/")
    try:
        sheet.write_text(text + "/* edited */\n")
        status, h2, body = get(a.public_port, "/")
        assert status == 200
        style = re.findall(r"<style>(.*?)</style>", body, re.S)
        assert len(style) == 1 and style[0].endswith("/* edited */\n")
        assert h2["etag"] != h["etag"]
        assert (h2["content-security-policy"] !=
                h["content-security-policy"])
    finally:
        sheet.write_text(text)
    assert "/* edited */" not in get(a.public_port, "/")[2]


# ---- bad requests ------------------------------------------------------------------

def test_bad_requests_change_nothing(alliance):
    hub, a, b = alliance
    _, h, body = get(a.public_port, "/")
    etag = h["etag"]
    # a query is never reflected into the page
    status, h2, body2 = get(a.public_port, "/?q=<script>x</script>")
    assert status == 200 and "<script>x" not in body2 and h2["etag"] == etag
    # a huge or odd If-None-Match is just not a match
    for inm in ("*" * 400, "bad\tvalue", 'W/"nothing"'):
        assert get(a.public_port, "/", {"If-None-Match": inm})[0] == 200
    # other methods are not rendered, and change nothing
    for port in (a.public_port, hub.public_port):
        status, _, body = get(port, "/index.html", method="POST")
        assert status == 404 and "alerts" not in body
    assert get(a.public_port, "/")[1]["etag"] == etag
    # a page that does not exist is still a 404
    assert get(a.public_port, "/nothing.html")[0] == 404
    assert get(a.public_port, "/index.html/x")[0] == 404
