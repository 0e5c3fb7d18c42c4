"""Open311 GeoReport v2 conformance, derived from the spec's own pages
(wiki.open311.org/GeoReport_v2 and /Service_Discovery): its field tables
and examples, each check naming the section it comes from, read with a
real XML parser (lxml, i.e. libxml2) and Python's JSON parser.

No Open311 client from npm installs without network access (the one
there, `open311`, pulls a dependency from a git URL), so this is the
client: it discovers the endpoint, lists services, reads a definition,
posts a request, follows it by id and with its secret, and filters the
listing, in XML and in JSON, against a real hub and two real nodes. Then
bad input: bad filters, a description over 4,000 characters, a home
visit without a location, a missing or wrong api_key; each refused in
the spec's error format and changing nothing.

Node A lists [open311] api_keys, so this client, a third party, sends
api_key as the spec's POST says; A's own pages (same origin) need none.
"""

import datetime
import http.client
import json
import re
import urllib.parse
from types import SimpleNamespace

import pytest
from lxml import etree

from conftest import Hub, Node, stop_all, unique_id, wait_for
from test_05_config import bad_config, valid_config
from test_25_manager import PASSWORD, api, hash_password

SPEC = "http://wiki.open311.org/GeoReport_v2"
KEY = "third-party-app-key-0123456789"
# Title and text with every XML markup character, and Chinese
TITLE = "上门理发 <Haircut> & 'care' \"home\""
W3 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(Z|[+-]\d{2}:\d{2})$")


class KeyNode(Node):
    """A node with [open311] api_keys."""

    def config_text(self):
        return super().config_text() + f"[open311]\napi_keys = {KEY}\n"


@pytest.fixture(scope="module")
def two(pki, tmp_path_factory):
    d = tmp_path_factory.mktemp("open311")
    h = hash_password(PASSWORD)
    hub = Hub(d / "hub", pki).start()
    made = [hub]
    roomy = {"resident_actions": 1000}
    try:
        a, b = unique_id("oa"), unique_id("ob")
        hub.register(a)
        hub.register(b)
        na = KeyNode(d / "a", pki, hub, a, manager_hash=h,
                     limits=roomy).start()
        made.append(na)
        nb = Node(d / "b", pki, hub, b, manager_hash=h, limits=roomy).start()
        made.append(nb)
        na.wait_connected()
        nb.wait_connected()
        r = api(nb, "POST", "/api/v1/services", {
            "title": TITLE, "category": "elderly-care",
            "delivery": ["home-visit"], "summary": "为行动不便的老人 <上门>"})
        assert r.status == 201, r
        visit = f"{b}.{r.json()['id']}"
        r = api(na, "POST", "/api/v1/services", {
            "title": "Legal advice", "category": "legal-civil",
            "delivery": ["walk-in"]})
        assert r.status == 201, r
        desk = f"{a}.{r.json()['id']}"
        wait_for(lambda: visit in codes(na), 20, "B's service at A")
        yield SimpleNamespace(hub=hub, a=na, b=nb, visit=visit, desk=desk)
    finally:
        stop_all(made)


# ---- the client --------------------------------------------------------------


def call(node, method, path, fields=None, headers=None):
    """One HTTP exchange; the body parsed by the format the path asks
    for (GeoReport v2, "Format Support": the extension names it)."""
    c = http.client.HTTPConnection("127.0.0.1", node.public_port, timeout=30)
    try:
        h = dict(headers or {})
        data = None
        if fields is not None:
            h["Content-Type"] = "application/x-www-form-urlencoded"
            data = urllib.parse.urlencode(fields).encode()
        c.request(method, path, body=data, headers=h)
        r = c.getresponse()
        raw = r.read()
        ctype = r.getheader("Content-Type", "")
    finally:
        c.close()
    xml = path.split("?")[0].endswith(".xml")
    if xml:
        # "Format Support": text/xml; "Encoding": UTF-8, declared
        assert ctype.startswith("text/xml"), ctype
        assert "utf-8" in ctype.lower(), ctype
        assert raw.startswith(b'<?xml version="1.0" encoding="UTF-8"?>'), raw
        body = etree.fromstring(raw)
    else:
        assert ctype.startswith("application/json"), ctype
        body = json.loads(raw)
    return SimpleNamespace(status=r.status, body=body, raw=raw, xml=xml)


def items(r, root, item):
    """The list of records of an answer as dicts: a JSON array, or the
    XML root element's children (text of each field; lists as lists)."""
    if not r.xml:
        assert isinstance(r.body, list), r.raw
        return r.body
    assert r.body.tag == root, r.raw
    out = []
    for el in r.body:
        assert el.tag == item, r.raw
        out.append(record(el))
    return out


def record(el):
    rec = {}
    for f in el:
        rec[f.tag] = [record(x) if len(x) else (x.text or "") for x in f] \
            if len(f) else (f.text or "")
    return rec


def error_of(r, status):
    """The spec's error answer: JSON [{"code", "description"}] or XML
    <errors><error><code/><description/></error></errors> (GeoReport
    v2, "Errors" of each method), with the HTTP status as its code."""
    assert r.status == status, (r.status, r.raw)
    errs = items(r, "errors", "error")
    assert len(errs) == 1, r.raw
    assert int(errs[0]["code"]) == status, r.raw
    assert errs[0]["description"], r.raw
    return errs[0]["description"]


def codes(node):
    return {s["service_code"] for s in
            items(call(node, "GET", "/open311/v2/services.json"),
                  "services", "service")}


def post(node, fields, fmt="json", key=KEY, headers=None):
    f = dict(fields)
    if key is not None:
        f["api_key"] = key
    return call(node, "POST", f"/open311/v2/requests.{fmt}", f, headers)


def asked(two, **kw):
    f = {"service_code": two.visit, "description": "请上门理发 <周末> & 谢谢",
         "first_name": "秀英", "last_name": "王", "phone": "13800138000",
         "address_string": "幸福路 5 号 302"}
    f.update(kw)
    return f


def listing(node, query="", fmt="json"):
    r = call(node, "GET", f"/open311/v2/requests.{fmt}{query}")
    assert r.status == 200, r.raw
    return items(r, "service_requests", "request")


# ---- discovery ---------------------------------------------------------------


@pytest.mark.parametrize("path", ["/open311/discovery", "/open311/v2/discovery"])
@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_discovery(two, path, fmt):
    r = call(two.a, "GET", f"{path}.{fmt}")
    assert r.status == 200, r.raw
    if r.xml:
        assert r.body.tag == "discovery"
        d = {f.tag: f for f in r.body}
        top = {k: d[k].text for k in ("changeset", "contact", "key_service")}
        eps = [record(e) for e in d["endpoints"]]
        assert all(e.tag == "endpoint" for e in d["endpoints"])
        for e, el in zip(eps, d["endpoints"]):
            e["formats"] = [x.text for x in el.find("formats")]
            assert all(x.tag == "format" for x in el.find("formats"))
    else:
        top, eps = r.body, r.body["endpoints"]
    # Service Discovery: changeset (a w3 datetime), contact, key_service
    assert W3.match(top["changeset"]), top
    assert top["contact"] and top["key_service"]
    # ... endpoints: specification, url, changeset, type, formats
    ep = [e for e in eps if e["specification"] == SPEC]
    assert len(ep) == 1, eps
    ep = ep[0]
    assert W3.match(ep["changeset"]) and ep["type"] == "production"
    assert set(ep["formats"]) == {"text/xml", "application/json"}
    url = urllib.parse.urlsplit(ep["url"])
    assert url.scheme == "http" and url.netloc == \
        f"127.0.0.1:{two.a.public_port}", ep["url"]
    # the url is the endpoint: its services are there
    got = call(two.a, "GET", f"{url.path}/services.xml")
    assert got.status == 200 and got.body.tag == "services"


# ---- services ----------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_list(two, fmt):
    r = call(two.a, "GET", f"/open311/v2/services.{fmt}")
    assert r.status == 200
    svcs = {s["service_code"]: s for s in items(r, "services", "service")}
    # GET Service List: each service's fields
    for s in svcs.values():
        for f in ("service_code", "service_name", "description",
                  "metadata", "type", "keywords", "group"):
            assert f in s, (f, s)
        assert s["type"] in ("realtime", "batch", "blackbox")
        # metadata: false as no service has attributes (XML: the word)
        assert s["metadata"] in (False, "false"), s
    # service_code COMMUNITY.ID, the service's own text round-tripped
    s = svcs[two.visit]
    assert s["service_name"] == TITLE
    assert s["description"] == "为行动不便的老人 <上门>"
    assert s["group"] == "elderly-care"
    assert two.desk in svcs


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_service_definition(two, fmt):
    r = call(two.a, "GET", f"/open311/v2/services/{two.visit}.{fmt}")
    assert r.status == 200, r.raw
    # GET Service Definition: service_code and its attributes (none here,
    # as metadata false says)
    if r.xml:
        assert r.body.tag == "service_definition"
        assert r.body.findtext("service_code") == two.visit
        attrs = r.body.find("attributes")
        assert attrs is not None and len(attrs) == 0
    else:
        assert r.body == {"service_code": two.visit, "attributes": []}
    # GET Service Definition, errors: 404 for an unknown code, 400 for
    # one that cannot be a code
    community = two.visit.split(".")[0]
    error_of(call(two.a, "GET", f"/open311/v2/services/{community}.none."
                  f"{fmt}"), 404)
    error_of(call(two.a, "GET", f"/open311/v2/services/nodot.{fmt}"), 400)


# ---- a request, posted and followed ------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_post_and_follow(two, fmt):
    r = post(two.a, asked(two), fmt)
    assert r.status == 201, r.raw
    # POST Service Request, response: service_request_id, service_notice,
    # account_id; the id is known at once, so no token (the spec gives
    # one only for GET service_request_id from a token)
    got = items(r, "service_requests", "request")
    assert len(got) == 1
    got = got[0]
    assert {"service_request_id", "service_notice", "account_id"} <= \
        set(got), got
    assert "token" not in got, got
    rid, secret = got["service_request_id"], got["request_secret"]
    assert rid and re.fullmatch(r"[0-9a-f]{32}", secret), got

    # GET Service Request: the request by its id, as a one-item list
    r = call(two.a, "GET", f"/open311/v2/requests/{rid}.{fmt}")
    assert r.status == 200, r.raw
    (pub,) = items(r, "service_requests", "request")
    assert pub["service_request_id"] == rid
    assert pub["service_code"] == two.visit
    assert pub["service_name"] == TITLE
    assert pub["status"] == "open"
    assert W3.match(pub["requested_datetime"]), pub
    assert W3.match(pub["updated_datetime"]), pub
    # personal data and the resident's words stay private
    assert "description" not in pub and "phone" not in pub

    # ... and with the request's secret, the resident's own view
    r = call(two.a, "GET",
             f"/open311/v2/requests/{rid}.{fmt}?request_secret={secret}")
    (mine,) = items(r, "service_requests", "request")
    assert mine["description"] == "请上门理发 <周末> & 谢谢"
    assert mine["name"] == "王 秀英" or mine["name"] == "秀英 王"
    assert mine["address"] == "幸福路 5 号 302"

    # GET Service Requests: service_request_id picks it out
    got = listing(two.a, f"?service_request_id={rid}", fmt)
    assert [x["service_request_id"] for x in got] == [rid]

    # GET service_request_id from a token: no token was issued
    error_of(call(two.a, "GET", f"/open311/v2/tokens/{secret}.{fmt}"), 404)

    # the request reaches the owner, which lists it too
    wait_for(lambda: [x["service_request_id"] for x in listing(
        two.b, f"?service_request_id={rid}", fmt)] == [rid], 20,
        "the request at its owner")


def test_old_service_code_form_still_read(two):
    old = two.visit.replace(".", "/", 1)
    r = post(two.a, asked(two, service_code=old))
    assert r.status == 201, r.raw
    rid = r.body[0]["service_request_id"]
    (x,) = listing(two.a, f"?service_request_id={rid}")
    assert x["service_code"] == two.visit
    # a filter takes the old form too
    assert rid in [x["service_request_id"] for x in
                   listing(two.a, "?service_code=" +
                           urllib.parse.quote(old, safe=""))]


def test_description_is_counted_in_characters(two):
    # POST Service Request: description, up to 4,000 characters
    long_zh = "请" * 4000
    r = post(two.a, asked(two, description=long_zh))
    assert r.status == 201, r.raw
    rid, secret = r.body[0]["service_request_id"], r.body[0]["request_secret"]
    r = call(two.a, "GET",
             f"/open311/v2/requests/{rid}.xml?request_secret={secret}")
    (mine,) = items(r, "service_requests", "request")
    assert mine["description"] == long_zh
    assert post(two.a, asked(two, description="请" * 1500)).status == 201
    before = len(listing(two.a))
    for text in ("请" * 4001, "x" * 4001):
        for fmt in ("json", "xml"):
            msg = error_of(post(two.a, asked(two, description=text), fmt),
                           400)
            assert msg.startswith("description:") and "4000 characters" \
                in msg, msg
    assert len(listing(two.a)) == before


def test_address_id_is_a_location(two):
    # POST Service Request: a location is lat & long, address_string or
    # address_id; a home visit needs one
    f = asked(two, address_string="", address_id="QD-SN-0042-302")
    r = post(two.a, f)
    assert r.status == 201, r.raw
    rid, secret = r.body[0]["service_request_id"], r.body[0]["request_secret"]
    r = call(two.a, "GET",
             f"/open311/v2/requests/{rid}.json?request_secret={secret}")
    assert "QD-SN-0042-302" in r.body[0]["address"]
    before = len(listing(two.a))
    for fmt in ("json", "xml"):
        msg = error_of(post(two.a, asked(two, address_string=""), fmt), 400)
        assert "address_id" in msg and "location" in msg, msg
    assert len(listing(two.a)) == before
    # a walk-in service needs none
    assert post(two.a, asked(two, service_code=two.desk,
                             address_string="")).status == 201


# ---- the listing's filters ---------------------------------------------------


def test_filters(two):
    def ids(query, fmt="json"):
        return {x["service_request_id"] for x in listing(two.a, query, fmt)}

    r = post(two.a, asked(two))
    v1 = r.body[0]["service_request_id"]
    secret = r.body[0]["request_secret"]
    v2 = post(two.a, asked(two)).body[0]["service_request_id"]
    d1 = post(two.a, asked(two, service_code=two.desk)).body[0][
        "service_request_id"]
    # withdrawn: closed
    r = call(two.a, "POST", f"/open311/v2/requests/{v1}/withdraw.json",
             {"request_secret": secret})
    assert r.status == 200, r.raw
    for fmt in ("json", "xml"):
        # service_request_id: a comma list, overriding every other filter
        assert ids(f"?service_request_id={v2},{d1}", fmt) == {v2, d1}
        assert ids(f"?service_request_id={v2}&service_code={two.desk}"
                   "&status=closed", fmt) == {v2}
        # service_code: a comma list
        got = ids(f"?service_code={two.desk}", fmt)
        assert d1 in got and not {v1, v2} & got
        got = ids(f"?service_code={two.desk},{two.visit}", fmt)
        assert {v1, v2, d1} <= got
        # status: open, closed, or both
        assert v1 in ids("?status=closed", fmt)
        assert v1 not in ids("?status=open", fmt)
        assert {v1, v2} <= ids("?status=open,closed", fmt)
        assert v2 in ids("?status=open", fmt)
    # start_date and end_date: w3 datetimes around requested_datetime
    now = datetime.datetime.now(datetime.timezone.utc)
    before = (now - datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = (now + datetime.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert {v1, v2, d1} <= ids(f"?start_date={before}&end_date={after}")
    assert not {v1, v2, d1} & ids(f"?start_date={after}")
    assert not {v1, v2, d1} & ids(f"?end_date={before}")
    # the same instant with an offset: +08:00 written %2B, or left a
    # bare '+' (which a query decodes to a space)
    cst = datetime.timezone(datetime.timedelta(hours=8))
    start = (now - datetime.timedelta(hours=1)).astimezone(cst).strftime(
        "%Y-%m-%dT%H:%M:%S+08:00")
    assert {v1, v2, d1} <= ids("?start_date=" + start.replace("+", "%2B"))
    assert {v1, v2, d1} <= ids("?start_date=" + start)
    assert not {v1, v2, d1} & ids("?end_date=" + start.replace("+", "%2B"))


@pytest.mark.parametrize("fmt", ["json", "xml"])
@pytest.mark.parametrize("query,field", [
    ("status=pending", "status"),
    ("status=open,", "status"),
    ("start_date=yesterday", "start_date"),
    ("end_date=2026-13-01T00:00:00Z", "end_date"),
    ("start_date=2026-02-01T00:00:00Z&end_date=2026-01-01T00:00:00Z",
     "start_date"),
    ("service_code=nodot", "service_code"),
    ("service_code=a.b,,c.d", "service_code"),
    ("service_request_id=" + ",".join(["x.1"] * 51), "service_request_id"),
    ("service_request_id=a%20b", "service_request_id"),
])
def test_bad_filters_refused(two, fmt, query, field):
    r = call(two.a, "GET", f"/open311/v2/requests.{fmt}?{query}")
    msg = error_of(r, 400)
    assert msg.startswith(field + ":"), msg


# ---- API keys ------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["json", "xml"])
def test_api_key(two, fmt):
    before = len(listing(two.a))
    # POST Service Request: api_key required; 403 without a valid one
    msg = error_of(post(two.a, asked(two), fmt, key=None), 403)
    assert msg.startswith("api_key:"), msg
    error_of(post(two.a, asked(two), fmt, key="x" * len(KEY)), 403)
    error_of(post(two.a, asked(two), fmt, key=KEY[:-1]), 403)
    error_of(post(two.a, asked(two), fmt, key=None, headers={
        "Origin": "http://elsewhere.example"}), 403)
    assert len(listing(two.a)) == before
    # the node's own pages: same origin, no key
    origin = f"http://127.0.0.1:{two.a.public_port}"
    assert post(two.a, asked(two), fmt, key=None,
                headers={"Origin": origin}).status == 201
    # a node without keys takes a POST without one
    assert post(two.b, asked(two), fmt, key=None).status == 201
    assert len(listing(two.a)) == before + 1


@pytest.mark.parametrize("keys", [
    "short", f"{KEY},", f"{KEY},,{KEY}", "bad key with spaces 0123456789",
    ",".join([KEY] * 65)])
def test_bad_api_keys_config_exits_2(pki, tmp_path, keys):
    text = valid_config("alliance-node", pki, tmp_path) + \
        f"[open311]\napi_keys = {keys}\n"
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert f"{conf}:" in err and "api_keys" in err, err
