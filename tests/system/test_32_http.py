"""HTTP as RFC 9110/9112 clients expect it, on every port: the hub's
public port, its alliance port (operator certificate: the district
console and the operator API) and a node's public port, static files and
dynamic resources alike (issue 15, item 5). Real hub and node serving
web/, spoken to with http.client and raw sockets.

Parts: the alliance; helpers; ETag and If-None-Match; Date; HEAD; Allow;
request bodies without a length; gzip; the node's metrics listener.
"""

import base64
import email.utils
import gzip
import hashlib
import http.client
import json
import re
import socket
import ssl

import pytest

from conftest import (ROOT, Hub, Node, hash_password, stop_all, tls_context,
                      topology, unique_id, wait_for)
from test_16_node_metrics import WithMetrics

WEB = ROOT / "web"
# Long enough that every listing of communities is worth compressing.
NAME = "石老人社区居民委员会（海滨街道）"
PASSWORD = "http test manager password"
# Services the node holds: a search for 理发 finds them all, an answer
# worth compressing.
SERVICES = 12


class WebHub(Hub):
    def config_text(self):
        return super().config_text() + f"[web]\nroot = {WEB}\n"


class WebNode(WithMetrics, Node):
    def config_text(self):
        return super().config_text() + f"[web]\nroot = {WEB}\n"


# ---- the alliance -----------------------------------------------------------

@pytest.fixture(scope="module")
def ports(pki, tmp_path_factory):
    """{kind: (connect, static path, JSON path)} for the three ports (and
    the node's metrics listener: no static files, /metrics)."""
    d = tmp_path_factory.mktemp("http")
    made = []
    try:
        hub = WebHub(d / "hub", pki).start()
        made.append(hub)
        ids = [unique_id("h") for _ in range(4)]
        for cid in ids:
            hub.register(cid, f"{NAME} {cid}")
        node = WebNode(d / "n", pki, hub, ids[0]).start()
        made.append(node)
        node.wait_connected()
        # the directory the node lists comes down from the hub
        wait_for(lambda: len(get(plain(node.public_port), "/api/v1/communities")
                             .json()["items"]) == 4, 15,
                 "the node's directory of communities")
        operator = tls_context(pki, pki.operator)

        def alliance():
            return http.client.HTTPSConnection("localhost", hub.alliance_port,
                                               context=operator, timeout=10)
        yield {
            "hub public": (plain(hub.public_port), "/css/site.css",
                           "/api/v1/communities"),
            "hub alliance": (alliance, "/district/", "/api/v1/communities"),
            "node public": (plain(node.public_port), "/js/common.js",
                            "/api/v1/communities"),
            "node metrics": (plain(node.metrics_port), None, "/metrics"),
        }
    finally:
        stop_all(made)


KINDS = ["hub public", "hub alliance", "node public"]


# ---- helpers ------------------------------------------------------------------

def plain(port):
    return lambda: http.client.HTTPConnection("127.0.0.1", port, timeout=10)


class Reply:
    def __init__(self, r):
        self.status = r.status
        self.headers = {k.lower(): v for k, v in r.getheaders()}
        self.body = r.read()

    def json(self):
        return json.loads(self.body)


def get(connect, path, headers=None, method="GET", body=None):
    c = connect()
    try:
        c.request(method, path, body=body, headers=headers or {})
        return Reply(c.getresponse())
    finally:
        c.close()


def add_services(node, hub, community):
    """SERVICES services at node (as its manager), waited for at hub."""
    items = [{"title": f"理发 haircut at home {i}",
              "summary": "理发 for residents who cannot walk",
              "category": "elderly-care", "delivery": "home-visit",
              "fee": "free", "phone": "0532 8888 1234"}
             for i in range(SERVICES)]
    auth = base64.b64encode(f"manager:{PASSWORD}".encode()).decode()
    c = http.client.HTTPConnection("127.0.0.1", node.public_port, timeout=30)
    try:
        c.request("POST", "/api/v1/services/bulk",
                  body=json.dumps({"items": items}).encode(),
                  headers={"Authorization": "Basic " + auth,
                           "Content-Type": "application/json"})
        r = c.getresponse()
        assert r.status == 200, r.read()[:300]
    finally:
        c.close()
    for port in (node.public_port, hub.public_port):
        # searched (not the tests' query, whose first answer they want
        # searched): the indexer makes the rows findable after it holds them
        wait_for(lambda: len(get(plain(port), "/api/v1/catalog?q=%E7%90%86"
                                 f"%E5%8F%91&limit={SERVICES}")
                             .json()["items"]) == SERVICES, 20,
                 f"the services found at port {port}")


def raw(kind, ports, data):
    """The bytes the port answers data with, until it closes (a raw
    socket, TLS on the alliance port)."""
    c = ports[kind][0]()
    c.connect()
    s = c.sock
    try:
        s.sendall(data)
        out = b""
        while True:
            try:
                chunk = s.recv(65536)
            except (ConnectionResetError, ssl.SSLError):
                break
            if not chunk:
                break
            out += chunk
            if b"\r\n\r\n" in out:
                head, _, rest = out.partition(b"\r\n\r\n")
                m = re.search(rb"content-length: *(\d+)", head, re.I)
                if m and len(rest) >= int(m.group(1)):
                    break
        return out
    finally:
        c.close()


# ---- ETag and If-None-Match -------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what", ["static", "json"])
def test_quoted_etag_and_304_for_weak_list_and_star(ports, kind, what):
    connect, static, api = ports[kind]
    path = static if what == "static" else api
    r = get(connect, path)
    assert r.status == 200, r.body[:200]
    etag = r.headers["etag"]
    assert re.fullmatch(r'"[0-9a-f]{32}"', etag), etag
    for inm in (etag, "W/" + etag, f'"other", W/"x", {etag}', "*",
                f" {etag} ,"):
        r = get(connect, path, {"If-None-Match": inm})
        assert r.status == 304, (inm, r.status)
        assert r.body == b"" and r.headers["etag"] == etag
    # what names something else, or is not an entity tag, is no match
    for inm in ('"other"', 'W/"other", "x"', etag[1:-1], "**", '"' + etag):
        assert get(connect, path, {"If-None-Match": inm}).status == 200, inm


@pytest.mark.parametrize("kind", ["hub public", "node public"])
def test_search_answers_are_tagged_by_their_bytes(ports, kind):
    """A search's answer is tagged where it is made (a search thread) and
    kept with it in the answer cache: searched or from the cache, the tag
    is the one of the bytes sent, and revalidates."""
    connect = ports[kind][0]
    seen = {}
    # each query searched, then again (from the cache while the catalog
    # stands), interleaved so that the cache holds several at once
    queries = [f"/api/v1/catalog?q={w}&limit={n}"
               for w in ("water", "%E7%90%86%E5%8F%91", "x")
               for n in (5, 7)]
    for path in queries + queries:
        r = get(connect, path)
        assert r.status == 200, r.body[:200]
        etag = r.headers["etag"]
        assert etag == '"%s"' % hashlib.sha256(r.body).hexdigest()[:32]
        assert seen.setdefault(path, r.body) == r.body
        r2 = get(connect, path, {"If-None-Match": etag})
        assert r2.status == 304 and r2.body == b""
        assert r2.headers["etag"] == etag
        assert get(connect, path, {"If-None-Match": '"other"'}).status == 200


# ---- Date ---------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_date_on_2xx_3xx_4xx_5xx_alike(ports, kind):
    connect, static, api = ports[kind]
    etag = get(connect, api).headers["etag"]
    for path, headers, status in ((static, {}, 200), (api, {}, 200),
                                  (api, {"If-None-Match": etag}, 304),
                                  ("/api/v1/nothing", {}, 404)):
        r = get(connect, path, headers)
        assert r.status == status, (path, r.status)
        date = r.headers.get("date")
        assert date and re.fullmatch(
            r"(Mon|Tue|Wed|Thu|Fri|Sat|Sun), \d\d (Jan|Feb|Mar|Apr|May|Jun|"
            r"Jul|Aug|Sep|Oct|Nov|Dec) \d{4} \d\d:\d\d:\d\d GMT", date), date
        assert email.utils.parsedate_to_datetime(date).tzname() == "UTC"


# ---- HEAD ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_head_of_a_dynamic_resource_has_the_headers_and_no_body(ports, kind):
    connect, static, api = ports[kind]
    for path in (api, static):
        whole = get(connect, path)
        # HEAD, then (its headers read) GET on the same connection, read
        # as raw bytes to the close: a body after the HEAD's headers would
        # come before the GET's status line (http.client cannot tell: it
        # reconnects when a reply closes its connection)
        c = connect()
        try:
            c.connect()
            c.sock.sendall(f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n"
                           .encode())
            raw = b""
            while b"\r\n\r\n" not in raw:
                chunk = c.sock.recv(65536)
                assert chunk, raw
                raw += chunk
            c.sock.sendall(f"GET {path} HTTP/1.1\r\nHost: x\r\n"
                           "Connection: close\r\n\r\n".encode())
            while chunk := c.sock.recv(65536):
                raw += chunk
        finally:
            c.close()
        head, _, rest = raw.partition(b"\r\n\r\n")
        status, *lines = head.decode("latin-1").split("\r\n")
        assert status.startswith("HTTP/1.1 200"), status
        hh = dict((k.lower(), v.strip()) for k, _, v in
                  (line.partition(":") for line in lines))
        assert rest.startswith(b"HTTP/1.1 200"), rest[:80]
        assert rest.endswith(b"\r\n\r\n" + whole.body)
        for name in ("content-type", "etag", "cache-control",
                     "content-security-policy"):
            assert hh[name] == whole.headers[name], name
        assert int(hh["content-length"]) == len(whole.body)


@pytest.mark.parametrize("kind", KINDS)
def test_pipelined_requests_never_hang_the_connection(ports, kind):
    """Two requests sent at once (HTTP/1.1 pipelining): lws 4.1.6 cannot
    answer them in turn, so the connection is closed and the client sends
    them again (RFC 9112 9.3.2) -- never left hanging, nothing leaked (the
    daemons run under ASan), and the port keeps serving."""
    connect, static, api = ports[kind]
    for path in (api, static):
        whole = get(connect, path)
        one = f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode()
        c = connect()
        try:
            c.connect()
            c.sock.sendall(one + one)
            raw = b""
            while chunk := c.sock.recv(65536):   # the close, not a timeout
                raw += chunk
        finally:
            c.close()
        # what came (if anything) is whole replies, in order
        while raw:
            head, _, rest = raw.partition(b"\r\n\r\n")
            assert head.startswith(b"HTTP/1.1 200"), raw[:80]
            assert rest.startswith(whole.body), rest[:80]
            raw = rest[len(whole.body):]
        assert get(connect, path).body == whole.body


# ---- Allow ----------------------------------------------------------------------------

@pytest.mark.parametrize("kind,method,path,allow", [
    ("hub public", "DELETE", "/api/v1/bulletins.atom", "GET, HEAD"),
    ("hub public", "PUT", "/api/v1/polls/district.x", "GET, HEAD"),
    ("hub alliance", "PUT", "/api/v1/communities", "GET, HEAD, POST"),
    ("hub alliance", "GET", "/api/v1/communities/x", "DELETE"),
    ("node public", "DELETE", "/api/v1/catalog", "GET, HEAD"),
    ("node public", "GET", "/api/v1/residents", "POST"),
    # decided by the route tables: a 404 before, or an Allow short of
    # the methods the path answers
    ("hub public", "POST", "/healthz", "GET, HEAD"),
    ("hub public", "DELETE", "/api/v1/requests/stats", "GET, HEAD"),
    ("hub alliance", "DELETE", "/metrics", "GET, HEAD"),
    ("hub alliance", "DELETE", "/api/v1/bulletins/b1", "GET, HEAD"),
    ("hub alliance", "DELETE", "/api/v1/requests/stats", "GET, HEAD"),
    ("node public", "DELETE", "/api/v1/announcements", "GET, HEAD, POST"),
    ("node public", "GET", "/api/v1/requests/r1", "PATCH"),
    ("node public", "DELETE", "/api/v1/manager/sync", "GET, HEAD"),
    ("node public", "PATCH", "/api/v1/session", "GET, HEAD, POST, DELETE"),
    ("node public", "POST", "/api/v1/residents/me",
     "GET, HEAD, PATCH, DELETE"),
    ("node public", "DELETE", "/api/v1/polls/c.p", "GET, HEAD"),
    # with a body: no manager's row has the method, so no credential is
    # asked at the headers (it was, and refused, before)
    ("node public", "PUT", "/api/v1/announcements", "GET, HEAD, POST"),
    ("node public", "POST", "/api/v1/requests/r1", "PATCH"),
])
def test_every_405_says_allow(ports, kind, method, path, allow):
    body = b"{}" if method in ("PUT", "POST", "PATCH") else None
    r = get(ports[kind][0], path, {"Content-Type": "application/json"},
            method=method, body=body)
    assert r.status == 405, r.body
    assert r.headers["allow"] == allow
    assert r.json()["error"]["code"] == "method_not_allowed"


# ---- the route table: path, method, then role ----------------------------------------

def test_route_table_checks_path_then_method_then_role(ports):
    """A path no row has is a 404 whatever the method; a known path with
    a method none of its rows has is a 405 before any credential is
    asked; only then does a manager's or resident's row ask for one."""
    node = ports["node public"][0]
    for method in ("GET", "DELETE"):
        r = get(node, "/api/v1/requestz", method=method)
        assert r.status == 404 and r.json()["error"]["code"] == "not_found"
        assert "allow" not in r.headers
    r = get(node, "/api/v1/requests/r1", method="DELETE")
    assert r.status == 405 and r.headers["allow"] == "PATCH"
    # this node has no manager password: the manager's gate refuses
    r = get(node, "/api/v1/requests")
    assert r.status == 403, r.body
    assert "password_hash" in r.json()["error"]["message"]
    r = get(node, "/api/v1/residents/me")
    assert r.status == 401 and "Bearer" in r.json()["error"]["message"]
    r = get(node, "/api/v1/residents/me/requests")
    assert r.status == 401
    # a public row next to a manager's on one path: no credential asked
    assert get(node, "/api/v1/announcements").status == 200
    # a trailing slash is another path
    assert get(node, "/api/v1/announcements/").status == 404
    hub = ports["hub public"][0]
    assert get(hub, "/healthz/").status == 404
    assert get(hub, "/api/v1/polls/a/b").status == 404


@pytest.mark.parametrize("method,path,allow", [
    ("DELETE", "/open311/v2/requests.json", "GET, HEAD, POST"),
    ("GET", "/open311/v2/requests/r1/withdraw.json", "POST"),
    ("PUT", "/open311/v2/services.xml", "GET, HEAD"),
    ("POST", "/open311/discovery.json", "GET, HEAD"),
])
def test_open311_405_in_its_format_says_allow(ports, method, path, allow):
    """The table decides Open311's 405s too; they keep the spec's error
    list (in XML for .xml)."""
    r = get(ports["node public"][0], path, method=method,
            body=b"x=1" if method in ("PUT", "POST") else None)
    assert r.status == 405, r.body
    assert r.headers["allow"] == allow
    if path.endswith(".xml"):
        assert b"<errors>" in r.body and b"<code>405</code>" in r.body
    else:
        assert r.json()[0]["code"] == 405


def test_open311_404_in_its_format(ports):
    node = ports["node public"][0]
    r = get(node, "/open311/v2/services")
    assert r.status == 404
    assert "the format is .json or .xml" in r.json()[0]["description"]
    r = get(node, "/open311/v2/nothing.json")
    assert r.status == 404 and r.json()[0]["code"] == 404
    assert "allow" not in r.headers


# ---- request bodies without a length -----------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
def test_chunked_or_lengthless_body_gets_411_at_once(ports, kind):
    path = {"hub public": "/api/v1/bulletins", "hub alliance":
            "/api/v1/communities", "node public": "/api/v1/residents"}[kind]
    head = (f"POST {path} HTTP/1.1\r\nHost: x\r\n"
            f"Content-Type: application/json\r\n").encode()
    for data in (head + b"Transfer-Encoding: chunked\r\n\r\n"
                        b"2\r\n{}\r\n0\r\n\r\n",
                 head + b"\r\n"):
        out = raw(kind, ports, data)
        status, _, rest = out.partition(b"\r\n")
        assert status == b"HTTP/1.1 411 Length Required", out[:300]
        headers, _, body = rest.partition(b"\r\n\r\n")
        assert b"date:" in headers.lower()
        err = json.loads(body)["error"]
        assert err["code"] == "length_required"
        assert "Content-Length" in err["message"]
    # the same with a length is read
    r = get(ports[kind][0], path, {"Content-Type": "application/json"},
            method="POST", body=b"{")
    assert r.status != 411


# ---- gzip ------------------------------------------------------------------------------

@pytest.mark.parametrize("kind", KINDS)
@pytest.mark.parametrize("what", ["static", "json", "page"])
def test_gzip_served_and_decoded_to_the_same_bytes(ports, kind, what):
    connect, static, api = ports[kind]
    path = {"static": static, "json": api,
            "page": "/district/" if kind == "hub alliance" else "/"}[what]
    ident = get(connect, path)
    assert ident.status == 200 and "content-encoding" not in ident.headers
    assert ident.headers["vary"] == "Accept-Encoding"
    for ae in ("gzip", "br;q=1.0, gzip;q=0.8, *;q=0.1", "*", "x-gzip"):
        r = get(connect, path, {"Accept-Encoding": ae})
        assert r.headers.get("content-encoding") == "gzip", ae
        assert r.headers["vary"] == "Accept-Encoding"
        assert gzip.decompress(r.body) == ident.body
        assert len(r.body) < len(ident.body) * 0.6
        # each coding its own tag, and each revalidates
        assert r.headers["etag"] != ident.headers["etag"]
        assert get(connect, path, {"Accept-Encoding": ae, "If-None-Match":
                                   r.headers["etag"]}).status == 304
    for ae in ("gzip;q=0", "identity", "br", "gzip;q=0, *;q=1", "*;q=0"):
        r = get(connect, path, {"Accept-Encoding": ae})
        assert "content-encoding" not in r.headers, ae
        assert r.body == ident.body


@pytest.mark.parametrize("kind", KINDS)
def test_static_files_and_pages_are_gzipped_once_not_per_request(ports,
                                                                  kind):
    """A file of [web] root (and a page) is gzipped once, when it is read,
    at the best level, and served from memory; an API answer is gzipped
    as it is sent, at zlib's default level. Which path a reply took shows
    in its gzip header (RFC 1952 2.3.1: XFL 2 is "maximum compression,
    slowest algorithm", 0 the default): a static file gzipped per
    request would carry XFL 0. Served again, the bytes are the same."""
    connect, static, api = ports[kind]
    page = "/district/" if kind == "hub alliance" else "/"
    for path, xfl in ((static, 2), (page, 2), (api, 0)):
        first = get(connect, path, {"Accept-Encoding": "gzip"})
        assert first.headers.get("content-encoding") == "gzip", path
        # ID1 ID2 CM=8 (deflate) FLG MTIME(4) XFL OS
        assert first.body[:3] == b"\x1f\x8b\x08", first.body[:10]
        assert first.body[8] == xfl, (path, first.body[:10])
        again = get(connect, path, {"Accept-Encoding": "gzip"})
        assert again.body == first.body, path


# ---- the live feed's connections ------------------------------------------------------

def open_feed(port):
    """The status line of a new live feed (left open: the socket too)."""
    s = socket.create_connection(("127.0.0.1", port), timeout=10)
    s.sendall(b"GET /api/v1/bulletins/live HTTP/1.1\r\nHost: x\r\n\r\n")
    buf = b""
    while b"\r\n" not in buf:
        chunk = s.recv(4096)
        assert chunk, buf
        buf += chunk
    return s, buf.split(b"\r\n")[0]


def test_a_closed_feed_is_let_go(ports):
    """One client holds at most 4 feeds; one it closes no longer counts
    (the port's callback mount gets lws to report the close)."""
    port = ports["node public"][0]().port
    for _ in range(6):
        def opened():
            s, status = open_feed(port)
            s.close()
            return status == b"HTTP/1.1 200 OK"
        wait_for(opened, 10, "a feed while the closed ones are let go")
    held = [open_feed(port) for _ in range(4)]
    try:
        assert all(status == b"HTTP/1.1 200 OK" for _, status in held)
        s, status = open_feed(port)
        s.close()
        assert status.startswith(b"HTTP/1.1 429")
    finally:
        for s, _ in held:
            s.close()


# ---- refusals on the alliance port ------------------------------------------------------

def test_refusals_by_certificate_role_carry_date(pki, ports):
    """A node certificate on the console's files gets the API's JSON 403;
    an operator certificate on the sync upgrade lws's 403: both with a
    Date and the security headers."""
    connect = ports["hub alliance"][0]
    port = connect().port
    node = tls_context(pki, pki.node(unique_id("n")))
    c = http.client.HTTPSConnection("localhost", port, context=node, timeout=10)
    try:
        c.request("GET", "/district/")
        r = Reply(c.getresponse())
    finally:
        c.close()
    assert r.status == 403 and r.json()["error"]["code"] == "forbidden"
    assert "date" in r.headers and "content-security-policy" in r.headers
    c = connect()
    try:
        c.putrequest("GET", "/v1/sync")
        for k, v in (("Upgrade", "websocket"), ("Connection", "Upgrade"),
                     ("Sec-WebSocket-Version", "13"),
                     ("Sec-WebSocket-Key", "dGhlIHNhbXBsZSBub25jZQ=="),
                     ("Sec-WebSocket-Protocol", "alliance.v1")):
            c.putheader(k, v)
        c.endheaders()
        r = Reply(c.getresponse())
    finally:
        c.close()
    assert r.status == 403, r.status
    assert "date" in r.headers and "x-frame-options" in r.headers


# ---- a cached answer, one connection ---------------------------------------------------

@pytest.fixture(scope="module")
def catalog(pki, tmp_path_factory):
    """{kind: connect} for a hub and a node (with a manager password, so
    the ports above keep a node without one) holding SERVICES services."""
    with topology(pki, tmp_path_factory.mktemp("cached"), ["cat"],
                  manager_hash=hash_password(PASSWORD)) as t:
        node = t.nodes[0]
        add_services(node, t.hub, node.community)
        yield {"hub public": plain(t.hub.public_port),
               "node public": plain(node.public_port)}


@pytest.mark.parametrize("kind", ["hub public", "node public"])
def test_a_cached_answer_is_framed_alike_for_get_head_gzip_and_304(catalog,
                                                                  kind):
    """A search answered from the cache (the reply holds the cache's copy
    and writes the headers and the body together) as GET, HEAD, gzipped
    and as a 304, all on one kept-alive connection: a byte too many or
    too few in any reply would be read as the start of the next."""
    path = "/api/v1/catalog?q=%E7%90%86%E5%8F%91&limit=9"
    c = catalog[kind]()

    def ask(method="GET", headers=None):
        c.request(method, path, headers=headers or {})
        return Reply(c.getresponse())
    try:
        first = ask()                      # searched, then kept
        assert len(first.json()["items"]) == 9
        assert first.status == 200, first.body[:200]
        etag = first.headers["etag"]
        for _ in range(2):
            again = ask()                  # from the cache
            assert again.status == 200 and again.body == first.body
            assert again.headers["etag"] == etag
            assert int(again.headers["content-length"]) == len(first.body)
            head = ask("HEAD")
            assert head.status == 200 and head.body == b""
            assert int(head.headers["content-length"]) == len(first.body)
            assert head.headers["etag"] == etag
            gz = ask(headers={"Accept-Encoding": "gzip"})
            assert gz.status == 200
            assert gz.headers["content-encoding"] == "gzip"
            assert gzip.decompress(gz.body) == first.body
            assert gz.headers["etag"] == etag[:-1] + '-gz"'
            nm = ask(headers={"If-None-Match": etag})
            assert nm.status == 304 and nm.body == b""
            assert nm.headers["etag"] == etag
    finally:
        c.close()


# ---- the node's metrics listener ------------------------------------------

def test_metrics_listener_speaks_http_alike(ports):
    """The node's [metrics] listener, a port of its own, answers as the
    others do: Date on 200, 304, 404 and 405; a quoted ETag and 304 for
    weak, list and *; HEAD without a body; Allow on 405; a body without a
    length answered at once; gzip decoded to the same text. A scrape can
    differ from the one before (gauges move), so what compares two
    replies asks again until two scrapes agree."""
    connect = ports["node metrics"][0]

    def dated(r, status):
        assert r.status == status, (r.status, r.body[:200])
        assert re.fullmatch(r"\w{3}, \d\d \w{3} \d{4} \d\d:\d\d:\d\d GMT",
                            r.headers.get("date", "")), r.headers
        return r

    r = dated(get(connect, "/metrics"), 200)
    assert re.fullmatch(r'"[0-9a-f]{32}"', r.headers["etag"])
    assert r.headers["vary"] == "Accept-Encoding"

    def revalidates(form):
        etag = get(connect, "/metrics").headers["etag"]
        r = get(connect, "/metrics", {"If-None-Match": form(etag)})
        if r.status == 304:
            dated(r, 304)
            assert r.body == b"" and r.headers["etag"] == etag
        return r.status == 304
    for form in (lambda e: e, lambda e: "W/" + e,
                 lambda e: f'"other", {e}'):
        wait_for(lambda: revalidates(form), 10, "a 304 for the scrape's tag")
    assert get(connect, "/metrics", {"If-None-Match": "*"}).status == 304
    assert get(connect, "/metrics",
               {"If-None-Match": '"other"'}).status == 200

    head = get(connect, "/metrics", method="HEAD")
    assert head.status == 200 and head.body == b""
    assert int(head.headers["content-length"]) > 0

    dated(get(connect, "/nothing"), 404)
    r = dated(get(connect, "/metrics", method="DELETE"), 405)
    assert r.headers["allow"] == "GET, HEAD"

    # a POST with a chunked body or none declared: answered at once
    for data in (b"POST /metrics HTTP/1.1\r\nHost: x\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n2\r\nab\r\n0\r\n\r\n",
                 b"POST /metrics HTTP/1.1\r\nHost: x\r\n\r\n"):
        out = raw("node metrics", ports, data)
        status = out.partition(b"\r\n")[0]
        assert status in (b"HTTP/1.1 405 Method Not Allowed",
                          b"HTTP/1.1 411 Length Required"), out[:300]
        assert b"\r\ndate: " in out.lower()

    def gzip_same():
        plain_ = get(connect, "/metrics")
        gz = get(connect, "/metrics", {"Accept-Encoding": "gzip"})
        assert gz.headers.get("content-encoding") == "gzip"
        assert gz.headers["vary"] == "Accept-Encoding"
        assert gz.headers["etag"] != plain_.headers["etag"]
        return gzip.decompress(gz.body) == plain_.body
    wait_for(gzip_same, 10, "a gzipped scrape decoded to the plain one")
