"""Command line and configuration of alliance-hub and alliance-node.

A bad config exits 2 with one message naming file:line and the key; --help
lists every key of the example configs; --version prints VERSION; SIGTERM
and SIGINT stop a running daemon with exit 0.
"""

import re
import signal
import subprocess

import pytest

from conftest import BUILD, ROOT, VERSION, Hub, Node, _env

DAEMONS = ["alliance-hub", "alliance-node"]


def run(binary, *args):
    return subprocess.run([str(BUILD / binary), *map(str, args)],
                          capture_output=True, text=True, timeout=30,
                          env=_env())


def valid_config(binary, pki, tmp_path):
    """The text of a config that starts (the harness's own)."""
    hub = Hub(tmp_path / "hub", pki)
    if binary == "alliance-hub":
        return hub.config_text()
    return Node(tmp_path / "node", pki, hub, "cfg-node").config_text()


def with_line(text, after_regex, new_line):
    """text with new_line inserted after the first line matching
    after_regex; returns (text, 1-based line number of new_line)."""
    lines = text.splitlines()
    i = next(i for i, ln in enumerate(lines) if re.search(after_regex, ln))
    lines.insert(i + 1, new_line)
    return "\n".join(lines) + "\n", i + 2


def without_line(text, regex):
    return "\n".join(ln for ln in text.splitlines()
                     if not re.search(regex, ln)) + "\n"


def bad_config(binary, tmp_path, text):
    """Run binary on text; it must exit 2 with one message on stderr.
    Returns (config path, stderr)."""
    conf = tmp_path / "bad.conf"
    conf.write_text(text)
    r = run(binary, "-c", conf)
    assert r.returncode == 2, (r.returncode, r.stdout, r.stderr)
    assert r.stderr.strip(), "no message on stderr"
    return conf, r.stderr


# the section whose port each daemon checks first, and a required key
PORT_SECTION = {"alliance-hub": r"^\[alliance\]", "alliance-node": r"^\[hub\]"}
REQUIRED = {"alliance-hub": ("alliance", "cert"),
            "alliance-node": ("hub", "host")}


@pytest.mark.parametrize("binary", DAEMONS)
def test_bad_port_exits_2_naming_file_line_key(binary, pki, tmp_path):
    """A port out of range exits 2 naming file:line and the key."""
    text = without_line(valid_config(binary, pki, tmp_path), r"^port = ")
    text, line = with_line(text, PORT_SECTION[binary], "port = 99999")
    conf, err = bad_config(binary, tmp_path, text)
    assert f"{conf}:{line}:" in err, err
    assert re.search(r"\] port: '99999' is not a port", err), err


@pytest.mark.parametrize("binary", DAEMONS)
@pytest.mark.parametrize("value", ["0", "17", "two"])
def test_bad_search_threads_exits_2_naming_it(binary, value, pki, tmp_path):
    """[public] search_threads outside 1..16 exits 2 naming file:line."""
    text, line = with_line(valid_config(binary, pki, tmp_path),
                           r"^\[public\]", f"search_threads = {value}")
    conf, err = bad_config(binary, tmp_path, text)
    assert f"{conf}:{line}:" in err and "search_threads" in err, err


@pytest.mark.parametrize("value", ["0", "3601", "-1", "soon"])
def test_bad_backoff_max_exits_2_naming_it(value, pki, tmp_path):
    """[hub] backoff_max_s outside 1..3600 exits 2 naming file:line."""
    text, line = with_line(valid_config("alliance-node", pki, tmp_path),
                           r"^\[hub\]", f"backoff_max_s = {value}")
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert f"{conf}:{line}:" in err and "backoff_max_s" in err, err


# Where hub and node had drifted apart, the safer side won at both (issue
# 16): the same refusal, with the same message, from either daemon.

@pytest.mark.parametrize("binary", DAEMONS)
@pytest.mark.parametrize("present,missing", [("cert", "key"),
                                             ("key", "cert")])
def test_public_cert_and_key_only_together(binary, present, missing, pki,
                                           tmp_path):
    """[public] cert without key (or key without cert) exits 2 naming
    file:line; the hub used to serve plain HTTP and log "https"."""
    text, line = with_line(valid_config(binary, pki, tmp_path),
                           r"^\[public\]", f"{present} = public.pem")
    conf, err = bad_config(binary, tmp_path, text)
    assert (f"{conf}:{line}: [public] {present}: must be set together "
            f"with {missing} for HTTPS") in err, err


@pytest.mark.parametrize("binary", DAEMONS)
@pytest.mark.parametrize("ping,drop", [(30, 30), (60, 20)])
def test_drop_s_must_be_greater_than_ping_s(binary, ping, drop, pki,
                                            tmp_path):
    """[limits] drop_s not above ping_s exits 2 naming file:line at both
    daemons; the hub used to take it."""
    text, _ = with_line(valid_config(binary, pki, tmp_path),
                        r"^\[limits\]", f"ping_s = {ping}")
    text, line = with_line(text, r"^ping_s = ", f"drop_s = {drop}")
    conf, err = bad_config(binary, tmp_path, text)
    assert (f"{conf}:{line}: [limits] drop_s: must be greater than "
            f"ping_s ({ping})") in err, err


@pytest.mark.parametrize("binary", DAEMONS)
@pytest.mark.parametrize("key,value,reason", [
    ("max_frame", 8388609, "must be between 262144 and 8388608 bytes"),
    ("max_frame", 67108864, "must be between 262144 and 8388608 bytes"),
    ("max_frame", 262143, "must be between 262144 and 8388608 bytes"),
    ("ping_s", 3601, "must be between 1 and 3600 seconds"),
    ("drop_s", 3601, "must be between 1 and 3600 seconds"),
])
def test_limits_bounds_same_at_both(binary, key, value, reason, pki,
                                    tmp_path):
    """[limits] max_frame up to 8 MiB, ping_s and drop_s up to an hour, at
    both daemons, with the same message."""
    text, line = with_line(valid_config(binary, pki, tmp_path),
                           r"^\[limits\]", f"{key} = {value}")
    conf, err = bad_config(binary, tmp_path, text)
    assert f"{conf}:{line}: [limits] {key}: {reason}" in err, err


@pytest.mark.parametrize("binary", DAEMONS)
def test_public_address_must_be_an_ip(binary, pki, tmp_path):
    """[public] address must be an IP address at both daemons."""
    text = without_line(valid_config(binary, pki, tmp_path),
                        r"^address = 127")
    text, line = with_line(text, r"^\[public\]", "address = localhost")
    conf, err = bad_config(binary, tmp_path, text)
    assert (f"{conf}:{line}: [public] address: must be an IPv4 or IPv6 "
            "address") in err, err


@pytest.mark.parametrize("binary", DAEMONS)
def test_help_prints_bounds_and_units(binary):
    """--help prints each number's bounds and unit, the same at both."""
    r = run(binary, "--help")
    assert r.returncode == 0, r
    for line in ["[limits] max_frame (bytes 262144-8388608, default "
                 "1048576)",
                 "[limits] ping_s (seconds 1-3600, default 20)",
                 "[limits] drop_s (seconds 1-3600, default 60)",
                 "[public] search_threads (number 1-16, default 2)",
                 "[public] port (port 1-65535, default 8080)"]:
        assert line in r.stdout, (line, r.stdout)


@pytest.mark.parametrize("binary", DAEMONS)
def test_unknown_key_exits_2_naming_it(binary, pki, tmp_path):
    """An unknown key exits 2 naming file:line and the key."""
    text, line = with_line(valid_config(binary, pki, tmp_path),
                           r"^\[log\]", "colour = blue")
    conf, err = bad_config(binary, tmp_path, text)
    assert f"{conf}:{line}: [log] colour: unknown key" in err, err


@pytest.mark.parametrize("binary", DAEMONS)
def test_syntax_error_exits_2_naming_line(binary, pki, tmp_path):
    """A line that is neither [section] nor key = value exits 2 naming
    file:line."""
    text, line = with_line(valid_config(binary, pki, tmp_path),
                           r"^\[store\]", "this line is not ini")
    conf, err = bad_config(binary, tmp_path, text)
    assert f"{conf}:{line}: syntax error" in err, err


@pytest.mark.parametrize("binary", DAEMONS)
def test_missing_required_key_exits_2_naming_it(binary, pki, tmp_path):
    """A missing required key exits 2 naming the file and the key."""
    section, key = REQUIRED[binary]
    text = without_line(valid_config(binary, pki, tmp_path), rf"^{key} = ")
    conf, err = bad_config(binary, tmp_path, text)
    assert str(conf) in err
    assert f"[{section}] {key}" in err and "required" in err, err


@pytest.mark.parametrize("binary", DAEMONS)
def test_nonexistent_config_exits_2(binary, tmp_path):
    """A config file that does not exist exits 2 naming it."""
    missing = tmp_path / "nowhere" / "alliance.conf"
    r = run(binary, "-c", missing)
    assert r.returncode == 2, r
    assert str(missing) in r.stderr


@pytest.mark.parametrize("binary", DAEMONS)
def test_no_arguments_exits_2_with_usage(binary):
    """No -c FILE exits 2 with the usage on stderr."""
    r = run(binary)
    assert r.returncode == 2, r
    assert "usage:" in r.stderr and "-c FILE" in r.stderr


def test_node_community_must_match_certificate(pki, tmp_path):
    """A node whose [node] community differs from its certificate's CN
    exits 2 naming the key."""
    text = valid_config("alliance-node", pki, tmp_path)
    pki.node("cfg-node")
    other = pki.node("cfg-other")
    text = re.sub(r"^cert = .*$", f"cert = {other[0]}", text, flags=re.M)
    text = re.sub(r"^key = .*$", f"key = {other[1]}", text, flags=re.M)
    conf, err = bad_config("alliance-node", tmp_path, text)
    assert "[node] community" in err and "cfg-other" in err, err


@pytest.mark.parametrize("binary,example", [
    ("alliance-hub", "hub.conf"), ("alliance-node", "node.conf")])
def test_help_lists_every_key(binary, example):
    """--help exits 0 and lists every key of the example config."""
    r = run(binary, "--help")
    assert r.returncode == 0, r
    section = None
    keys = []
    for ln in (ROOT / "deploy" / "examples" / example).read_text() \
            .splitlines():
        ln = ln.lstrip(";").strip()
        if m := re.fullmatch(r"\[(\w+)\]", ln):
            section = m.group(1)
        elif m := re.match(r"(\w+)\s*=", ln):
            keys.append((section, m.group(1)))
    assert len(keys) > 10
    for section, key in keys:
        assert f"[{section}] {key} " in r.stdout, (section, key)


@pytest.mark.parametrize("binary", DAEMONS)
def test_version_prints_version(binary):
    """--version prints the name and VERSION and exits 0."""
    r = run(binary, "--version")
    assert r.returncode == 0, r
    assert r.stdout.strip() == f"{binary} {VERSION}"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
def test_signal_stops_hub_and_node_with_exit_0(pki, daemons, sig):
    """SIGTERM or SIGINT stops a running hub and a connected node with
    exit 0."""
    hub = daemons.hub(pki)
    hub.register("sig-node")
    node = daemons.node(pki, hub, "sig-node")
    node.wait_connected()
    for d in (node, hub):
        proc = d.proc
        d.signal(sig)
        assert proc.wait(10) == 0, d.tail()
        d.proc = None
    assert "shutting down" in hub.log()
