"""The project's check of CAP 1.2 documents (OASIS Common Alerting
Protocol 1.2, 2010), section 3, parsed with a real XML parser (lxml).

No copy of the OASIS schema is kept here, so this checks what the schema
says (element order, required elements, value lists) as well as the
rules of section 3 that a schema cannot express (the characters of
sender and identifier, "-00:00" for UTC, references as whitespace
separated sender,identifier,sent triplets naming the message referenced,
language codes, absolute web URIs). Every problem found names the
section it breaks.

check(xml_bytes, resolve=None) -> list of problems ([] when the document
conforms). resolve(identifier) returns the referenced message as bytes,
or None when it is not to be had; each reference must then name that
message's own sender and sent exactly.
"""

import re

from lxml import etree

NS = "urn:oasis:names:tc:emergency:cap:1.2"

# 3.2.1 <alert>: its children in schema order; (name, min, max)
ALERT = [("identifier", 1, 1), ("sender", 1, 1), ("sent", 1, 1),
         ("status", 1, 1), ("msgType", 1, 1), ("source", 0, 1),
         ("scope", 1, 1), ("restriction", 0, 1), ("addresses", 0, 1),
         ("code", 0, None), ("note", 0, 1), ("references", 0, 1),
         ("incidents", 0, 1), ("info", 0, None)]
# 3.2.2 <info>
INFO = [("language", 0, 1), ("category", 1, None), ("event", 1, 1),
        ("responseType", 0, None), ("urgency", 1, 1), ("severity", 1, 1),
        ("certainty", 1, 1), ("audience", 0, 1), ("eventCode", 0, None),
        ("effective", 0, 1), ("onset", 0, 1), ("expires", 0, 1),
        ("senderName", 0, 1), ("headline", 0, 1), ("description", 0, 1),
        ("instruction", 0, 1), ("web", 0, 1), ("contact", 0, 1),
        ("parameter", 0, None), ("resource", 0, None), ("area", 0, None)]
# 3.2.3 <resource>, 3.2.4 <area>
RESOURCE = [("resourceDesc", 1, 1), ("mimeType", 1, 1), ("size", 0, 1),
            ("uri", 0, 1), ("derefUri", 0, 1), ("digest", 0, 1)]
AREA = [("areaDesc", 1, 1), ("polygon", 0, None), ("circle", 0, None),
        ("geocode", 0, None), ("altitude", 0, 1), ("ceiling", 0, 1)]
NAMED_VALUE = [("valueName", 1, 1), ("value", 1, 1)]

WORDS = {
    "status": {"Actual", "Exercise", "System", "Test", "Draft"},
    "msgType": {"Alert", "Update", "Cancel", "Ack", "Error"},
    "scope": {"Public", "Restricted", "Private"},
    "category": {"Geo", "Met", "Safety", "Security", "Rescue", "Fire",
                 "Health", "Env", "Transport", "Infra", "CBRNE", "Other"},
    "responseType": {"Shelter", "Evacuate", "Prepare", "Execute", "Avoid",
                     "Monitor", "Assess", "AllClear", "None"},
    "urgency": {"Immediate", "Expected", "Future", "Past", "Unknown"},
    "severity": {"Extreme", "Severe", "Moderate", "Minor", "Unknown"},
    "certainty": {"Observed", "Likely", "Possible", "Unlikely", "Unknown"},
}

# 3.3.2 DateTime: "2002-05-24T16:49:00-07:00", no "Z", UTC as -00:00
DATETIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d[-+]\d\d:\d\d")
# RFC 3066 language tag (3.2.2 language)
LANGUAGE = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")
# the characters 3.2.1 keeps out of sender and identifier
FORBIDDEN = re.compile(r"[\s,<&]")


def local(el):
    return etree.QName(el).localname


def children(el):
    return [c for c in el if isinstance(c.tag, str)]


def check_sequence(el, seq, where, section, out):
    """Children of el in the order and numbers of seq (the schema)."""
    names = [local(c) for c in children(el)]
    order = [n for n, _, _ in seq]
    for c in children(el):
        if etree.QName(c).namespace != NS:
            out.append(f"{section}: <{local(c)}> in {where} is not in the "
                       f"CAP 1.2 namespace")
    unknown = [n for n in names if n not in order]
    if unknown:
        out.append(f"{section}: {where} has elements CAP 1.2 does not "
                   f"define there: {unknown}")
    known = [n for n in names if n in order]
    if known != sorted(known, key=order.index):
        out.append(f"{section}: {where}'s elements are out of order: "
                   f"{known}")
    for name, lo, hi in seq:
        n = names.count(name)
        if n < lo:
            out.append(f"{section}: {where} lacks <{name}>")
        if hi is not None and n > hi:
            out.append(f"{section}: {where} has {n} <{name}>, at most {hi}")


def text_of(el, name):
    c = el.find(f"{{{NS}}}{name}")
    return None if c is None else (c.text or "")


def check_datetime(value, where, out):
    if value is None:
        return
    if not DATETIME.fullmatch(value):
        out.append(f"3.3.2: {where} {value!r} is not a CAP DateTime "
                   f"(YYYY-MM-DDThh:mm:ss-hh:mm; no 'Z')")
    elif value.endswith("+00:00"):
        out.append(f"3.3.2: {where} {value!r}: UTC MUST be written -00:00")


def check_id_chars(value, where, out):
    if not value:
        out.append(f"3.2.1: {where} is empty")
    elif FORBIDDEN.search(value):
        out.append(f"3.2.1: {where} {value!r} holds a space, comma, '<' "
                   f"or '&', which it MUST NOT")


def check_references(root, resolve, out):
    refs = text_of(root, "references")
    if refs is None:
        return
    triplets = refs.split()
    if not triplets:
        out.append("3.2.1: <references> is empty")
    for t in triplets:
        parts = t.split(",")
        if len(parts) != 3:
            out.append(f"3.2.1: reference {t!r} is not sender,identifier,"
                       f"sent")
            continue
        sender, ident, sent = parts
        check_id_chars(sender, "reference sender", out)
        check_id_chars(ident, "reference identifier", out)
        check_datetime(sent, "reference sent", out)
        if ident == text_of(root, "identifier") and \
                sender == text_of(root, "sender"):
            out.append(f"3.2.1: reference {t!r} names this message itself")
        if resolve is None:
            continue
        body = resolve(ident)
        if body is None:
            out.append(f"3.2.1: reference {t!r}: no message {ident} to be "
                       f"had")
            continue
        ref = etree.fromstring(body)
        got = (text_of(ref, "sender"), text_of(ref, "identifier"),
               text_of(ref, "sent"))
        if got != (sender, ident, sent):
            out.append(f"3.2.1: reference {t!r} does not name the message "
                       f"it points at, which is {','.join(map(str, got))}")


def check_info(info, n, out):
    where = f"<info> {n + 1}"
    check_sequence(info, INFO, where, "3.2.2", out)
    lang = text_of(info, "language")
    if lang is not None and not LANGUAGE.fullmatch(lang):
        out.append(f"3.2.2: {where} language {lang!r} is not an RFC 3066 "
                   f"code")
    for name in ("category", "responseType", "urgency", "severity",
                 "certainty"):
        for c in info.findall(f"{{{NS}}}{name}"):
            if c.text not in WORDS[name]:
                out.append(f"3.2.2: {where} <{name}> {c.text!r} is not one "
                           f"of {sorted(WORDS[name])}")
    for name in ("effective", "onset", "expires"):
        check_datetime(text_of(info, name), f"{where} <{name}>", out)
    web = text_of(info, "web")
    if web is not None and not re.match(r"[A-Za-z][A-Za-z0-9+.-]*://\S+$",
                                        web):
        out.append(f"3.2.2: {where} <web> {web!r} is not a full, absolute "
                   f"URI")
    for name in ("eventCode", "parameter"):
        for c in info.findall(f"{{{NS}}}{name}"):
            check_sequence(c, NAMED_VALUE, f"{where} <{name}>", "3.2.2", out)
    for r in info.findall(f"{{{NS}}}resource"):
        check_sequence(r, RESOURCE, f"{where} <resource>", "3.2.3", out)
    for a in info.findall(f"{{{NS}}}area"):
        check_sequence(a, AREA, f"{where} <area>", "3.2.4", out)
        for g in a.findall(f"{{{NS}}}geocode"):
            check_sequence(g, NAMED_VALUE, f"{where} <geocode>", "3.2.4",
                           out)
        for p in a.findall(f"{{{NS}}}polygon"):
            pts = (p.text or "").split()
            if len(pts) < 4 or pts[0] != pts[-1]:
                out.append(f"3.2.4: {where} <polygon> needs 4 or more "
                           f"points, the first and last the same")
        for c in a.findall(f"{{{NS}}}circle"):
            if not re.fullmatch(r"-?\d+(\.\d+)?,-?\d+(\.\d+)? \d+(\.\d+)?",
                                (c.text or "").strip()):
                out.append(f"3.2.4: {where} <circle> {c.text!r} is not "
                           f"'lat,lon radius'")


def check(body, resolve=None):
    """Problems of the CAP 1.2 document body (bytes), each citing its
    section; [] when it conforms."""
    out = []
    try:
        root = etree.fromstring(body)
    except etree.XMLSyntaxError as e:
        return [f"3.3.3: not well-formed XML: {e}"]
    if etree.QName(root).namespace != NS or local(root) != "alert":
        return [f"3.2.1: the root is {root.tag}, not {{{NS}}}alert"]
    check_sequence(root, ALERT, "<alert>", "3.2.1", out)
    check_id_chars(text_of(root, "identifier"), "identifier", out)
    check_id_chars(text_of(root, "sender"), "sender", out)
    check_datetime(text_of(root, "sent"), "sent", out)
    for name in ("status", "msgType", "scope"):
        v = text_of(root, name)
        if v is not None and v not in WORDS[name]:
            out.append(f"3.2.1: <{name}> {v!r} is not one of "
                       f"{sorted(WORDS[name])}")
    scope = text_of(root, "scope")
    if scope == "Restricted" and text_of(root, "restriction") is None:
        out.append("3.2.1: scope Restricted needs <restriction>")
    if scope == "Private" and text_of(root, "addresses") is None:
        out.append("3.2.1: scope Private needs <addresses>")
    check_references(root, resolve, out)
    infos = root.findall(f"{{{NS}}}info")
    for n, info in enumerate(infos):
        check_info(info, n, out)
    return out


def languages(body):
    """The language of each <info> in order (3.2.2: en-US when absent)."""
    root = etree.fromstring(body)
    return [text_of(i, "language") or "en-US"
            for i in root.findall(f"{{{NS}}}info")]


def info_by_language(body):
    """{language: {element: text}} of each <info>."""
    root = etree.fromstring(body)
    out = {}
    for i in root.findall(f"{{{NS}}}info"):
        out[text_of(i, "language") or "en-US"] = {
            local(c): c.text for c in children(i)}
    return out
