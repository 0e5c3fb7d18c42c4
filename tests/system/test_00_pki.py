"""certs/alliance-pki: the alliance CA, certificates, revocation, signing key.

Runs the real script and checks its output with the openssl CLI. Needs only
bash, openssl and the standard library:

    /usr/bin/python3 -m pytest -q tests/system/test_00_pki.py
"""

import hashlib
import os
import re
import stat
import subprocess
from datetime import datetime, timedelta
from pathlib import Path

import pytest

PKI = Path(__file__).resolve().parents[2] / "certs" / "alliance-pki"


def pki(*args, check=True):
    r = subprocess.run([str(PKI), *map(str, args)], capture_output=True,
                       text=True, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"alliance-pki {' '.join(map(str, args))} "
                             f"exited {r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def openssl(*args, check=True, text=True):
    r = subprocess.run(["openssl", *map(str, args)], capture_output=True,
                       text=text, timeout=60)
    if check and r.returncode != 0:
        raise AssertionError(f"openssl {' '.join(map(str, args))} exited "
                             f"{r.returncode}:\n{r.stdout}{r.stderr}")
    return r


def verify(d, cert):
    """openssl verify against the CA with the CRL checked; the result."""
    return openssl("verify", "-no-CApath", "-no-CAstore",
                   "-CAfile", d / "ca.crt", "-crl_check",
                   "-CRLfile", d / "ca.crl", cert, check=False)


def subject(cert):
    out = openssl("x509", "-in", cert, "-noout", "-subject",
                  "-nameopt", "RFC2253,utf8,-esc_msb").stdout.strip()
    return out.removeprefix("subject=")


def ext_text(cert):
    return openssl("x509", "-in", cert, "-noout", "-text").stdout


def mode(p):
    return stat.S_IMODE(os.stat(p).st_mode)


@pytest.fixture
def ca(tmp_path):
    d = tmp_path / "pki"
    pki("init", "--dir", d, "--name", "Test Alliance CA")
    return d


def test_init_makes_ca_and_empty_crl(tmp_path):
    d = tmp_path / "pki"
    r = pki("init", "--dir", d, "--name", "Test Alliance CA")
    assert "ca.crt" in r.stdout and "ca.crl" in r.stdout
    for f in ("ca.crt", "private/ca.key", "ca.crl", "index.txt", "serial",
              "crlnumber", "openssl.cnf"):
        assert (d / f).exists(), f
    assert mode(d / "private" / "ca.key") == 0o600

    assert subject(d / "ca.crt") == "CN=Test Alliance CA"
    text = ext_text(d / "ca.crt")
    assert re.search(r"Basic Constraints: critical\s+CA:TRUE", text)
    assert re.search(r"Key Usage: critical\s+Certificate Sign, CRL Sign", text)
    assert "ASN1 OID: prime256v1" in text

    crl = openssl("crl", "-in", d / "ca.crl", "-noout", "-text").stdout
    assert "No Revoked Certificates" in crl
    # The CRL is signed by the CA.
    openssl("crl", "-in", d / "ca.crl", "-noout", "-CAfile", d / "ca.crt")
    # Next update 30 days out by default.
    last, nxt = crl_dates(d)
    assert nxt - last == timedelta(days=30)

    # The CA is not replaced without --force.
    again = pki("init", "--dir", d, check=False)
    assert again.returncode != 0
    assert "already exists" in again.stderr


def crl_dates(d):
    """lastUpdate and nextUpdate of DIR/ca.crl as datetimes."""
    out = openssl("crl", "-in", d / "ca.crl", "-noout", "-lastupdate",
                  "-nextupdate").stdout
    dates = dict(line.split("=", 1) for line in out.splitlines() if "=" in line)
    fmt = "%b %d %H:%M:%S %Y GMT"
    return (datetime.strptime(" ".join(dates["lastUpdate"].split()), fmt),
            datetime.strptime(" ".join(dates["nextUpdate"].split()), fmt))


def test_init_crl_days(tmp_path):
    d = tmp_path / "pki"
    pki("init", "--dir", d, "--crl-days", "3")
    last, nxt = crl_dates(d)
    assert nxt - last == timedelta(days=3)
    # Later CRLs keep init's --crl-days unless told otherwise.
    pki("crl", "--dir", d)
    last, nxt = crl_dates(d)
    assert nxt - last == timedelta(days=3)
    pki("crl", "--dir", d, "--days", "10")
    last, nxt = crl_dates(d)
    assert nxt - last == timedelta(days=10)


def test_node_cert_cn_is_community_and_verifies(ca):
    r = pki("node", "--dir", ca, "--community", "badaguan")
    crt = ca / "nodes" / "badaguan.crt"
    key = ca / "nodes" / "badaguan.key"
    assert str(crt) in r.stdout
    assert subject(crt) == "CN=badaguan"          # no OU
    assert mode(key) == 0o600
    text = ext_text(crt)
    assert re.search(r"Extended Key Usage:\s+TLS Web Client Authentication\n",
                     text)
    assert re.search(r"Basic Constraints: critical\s+CA:FALSE", text)
    v = verify(ca, crt)
    assert v.returncode == 0, v.stdout + v.stderr
    # The key belongs to the certificate.
    assert openssl("x509", "-in", crt, "-noout", "-pubkey").stdout == \
        openssl("pkey", "-in", key, "-pubout").stdout
    # Listed as valid.
    listing = pki("list", "--dir", ca).stdout
    assert re.search(r"^V\s+\S+\s+\S+\s+/CN=badaguan$", listing, re.M)


def test_node_not_overwritten_without_force(ca):
    pki("node", "--dir", ca, "--community", "zhongshan")
    before = (ca / "nodes" / "zhongshan.crt").read_text()
    r = pki("node", "--dir", ca, "--community", "zhongshan", check=False)
    assert r.returncode != 0 and "--force" in r.stderr
    assert (ca / "nodes" / "zhongshan.crt").read_text() == before
    pki("node", "--dir", ca, "--community", "zhongshan", "--force")
    assert (ca / "nodes" / "zhongshan.crt").read_text() != before
    assert verify(ca, ca / "nodes" / "zhongshan.crt").returncode == 0


@pytest.mark.parametrize("bad", [
    "Badaguan", "a", "-abc", "ab_c", "ab/c", "ab c", "a" * 64, "ab=c",
    "ab,c", "", "ab\nc", "ünï",
])
def test_bad_community_id_refused(ca, bad):
    r = pki("node", "--dir", ca, "--community", bad, check=False)
    assert r.returncode != 0
    assert "community" in r.stderr
    assert not (ca / "nodes").exists() or not any((ca / "nodes").iterdir())
    assert (ca / "index.txt").read_text() == ""


def test_hub_cert_has_sans_and_server_auth(ca):
    pki("hub", "--dir", ca, "--name", "hub.alliance.test", "--dns",
        "hub.alliance.test", "--dns", "localhost", "--ip", "127.0.0.1")
    crt = ca / "hub.crt"
    assert subject(crt) == "CN=hub.alliance.test"
    text = ext_text(crt)
    assert "DNS:hub.alliance.test, DNS:localhost, IP Address:127.0.0.1" in text
    assert re.search(r"Extended Key Usage:\s+TLS Web Server Authentication\n",
                     text)
    assert mode(ca / "hub.key") == 0o600
    assert verify(ca, crt).returncode == 0
    # The host-name check a node makes.
    ok = openssl("verify", "-no-CApath", "-no-CAstore", "-CAfile",
                 ca / "ca.crt", "-verify_hostname", "hub.alliance.test",
                 "-purpose", "sslserver", crt, check=False)
    assert ok.returncode == 0, ok.stdout + ok.stderr
    bad = openssl("verify", "-no-CApath", "-no-CAstore", "-CAfile",
                  ca / "ca.crt", "-verify_hostname", "evil.example", crt,
                  check=False)
    assert bad.returncode != 0


def test_operator_cert_has_ou_district_office(ca):
    r = pki("operator", "--dir", ca, "--name", "Li Wei")
    crt = ca / "operators" / "li-wei.crt"
    assert str(crt) in r.stdout
    assert subject(crt) == "CN=Li Wei,OU=district-office"
    assert mode(ca / "operators" / "li-wei.key") == 0o600
    assert re.search(r"Extended Key Usage:\s+TLS Web Client Authentication\n",
                     ext_text(crt))
    assert verify(ca, crt).returncode == 0


def test_operator_unicode_name(ca):
    r = pki("operator", "--dir", ca, "--name", "王小明")
    crt = Path(re.search(r"^wrote (\S+\.crt)", r.stdout, re.M).group(1))
    assert crt.parent == ca / "operators"
    assert subject(crt) == "CN=王小明,OU=district-office"
    assert verify(ca, crt).returncode == 0


@pytest.mark.parametrize("bad", [
    "a/CN=root", "x=y", "a,OU=district-office", "a+b", 'a"b', "a'b",
    "line\nbreak", "tab\there", "", " lead", "x" * 65,
])
def test_operator_name_injection_refused(ca, bad):
    r = pki("operator", "--dir", ca, "--name", bad, check=False)
    assert r.returncode != 0
    assert "--name" in r.stderr
    assert (ca / "index.txt").read_text() == ""


def test_revoke_makes_verify_fail(ca):
    pki("node", "--dir", ca, "--community", "laoshan")
    pki("node", "--dir", ca, "--community", "shinan")
    crt = ca / "nodes" / "laoshan.crt"
    assert verify(ca, crt).returncode == 0

    r = pki("revoke", "--dir", ca, crt, "--reason", "keyCompromise")
    assert "ca.crl" in r.stdout
    v = verify(ca, crt)
    assert v.returncode != 0
    assert "revoked" in (v.stdout + v.stderr)
    # Others are unaffected.
    assert verify(ca, ca / "nodes" / "shinan.crt").returncode == 0

    serial = openssl("x509", "-in", crt, "-noout", "-serial").stdout \
        .strip().removeprefix("serial=")
    crl = openssl("crl", "-in", ca / "ca.crl", "-noout", "-text").stdout
    assert f"Serial Number: {serial}" in crl
    assert "Key Compromise" in crl
    listing = pki("list", "--dir", ca).stdout
    assert re.search(rf"^R\s+{serial}\s", listing, re.M)

    # A second revocation is refused, and so is a foreign certificate.
    assert pki("revoke", "--dir", ca, crt, check=False).returncode != 0
    other = ca.parent / "other"
    pki("init", "--dir", other)
    pki("node", "--dir", other, "--community", "laoshan")
    r = pki("revoke", "--dir", ca, other / "nodes" / "laoshan.crt",
            check=False)
    assert r.returncode != 0 and "not issued by this CA" in r.stderr


def test_revoke_by_serial_and_crl_regeneration(ca):
    pki("operator", "--dir", ca, "--name", "Zhang San")
    crt = ca / "operators" / "zhang-san.crt"
    serial = openssl("x509", "-in", crt, "-noout", "-serial").stdout \
        .strip().removeprefix("serial=")
    pki("revoke", "--dir", ca, "--serial", serial)
    assert verify(ca, crt).returncode != 0
    before = openssl("crl", "-in", ca / "ca.crl", "-noout", "-crlnumber") \
        .stdout
    r = pki("crl", "--dir", ca, "--days", "7")
    assert "1 revoked" in r.stdout
    after = openssl("crl", "-in", ca / "ca.crl", "-noout", "-crlnumber") \
        .stdout
    assert before != after
    assert verify(ca, crt).returncode != 0


def test_expired_cert_fails_verify(ca):
    pki("node", "--dir", ca, "--community", "old-node",
        "--start", "20200101000000Z", "--end", "20200201000000Z")
    crt = ca / "nodes" / "old-node.crt"
    v = verify(ca, crt)
    assert v.returncode != 0
    assert "expired" in (v.stdout + v.stderr)
    assert re.search(r"^E\s+\S+\s+2020-02-01\s+/CN=old-node$",
                     pki("list", "--dir", ca).stdout, re.M)
    pki("operator", "--dir", ca, "--name", "Old Operator",
        "--start", "20200101000000Z", "--end", "20200201000000Z")
    assert verify(ca, ca / "operators" / "old-operator.crt").returncode != 0


def not_before(cert):
    """notBefore of cert as a naive UTC datetime."""
    out = openssl("x509", "-in", cert, "-noout", "-startdate").stdout
    return datetime.strptime(" ".join(out.strip().removeprefix(
        "notBefore=").split()), "%b %d %H:%M:%S %Y %Z")


def test_certificates_start_backdated(tmp_path):
    """The CA and every certificate start 2 days before issue (a node
    whose clock is behind accepts them); --backdate sets that, 0 to
    365 days, and the CA is not among the certificates it lists."""
    d = tmp_path / "pki"
    now = datetime.utcnow()
    pki("init", "--dir", d)
    pki("node", "--dir", d, "--community", "late")
    pki("hub", "--dir", d, "--name", "hub", "--ip", "127.0.0.1",
        "--backdate", "0")
    pki("operator", "--dir", d, "--name", "Op", "--backdate", "7")
    slack = timedelta(minutes=2)
    for cert, days in ((d / "ca.crt", 2), (d / "nodes" / "late.crt", 2),
                       (d / "hub.crt", 0),
                       (d / "operators" / "op.crt", 7)):
        assert abs(not_before(cert) - (now - timedelta(days=days))) < slack, \
            cert
    assert verify(d, d / "nodes" / "late.crt").returncode == 0
    assert "/CN=Alliance CA" not in pki("list", "--dir", d).stdout
    for bad in ("366", "-1", "two", ""):
        r = pki("node", "--dir", d, "--community", "bad", "--backdate", bad,
                check=False)
        assert r.returncode == 2 and "--backdate" in r.stderr, bad
        r = pki("init", "--dir", tmp_path / "other", "--backdate", bad,
                check=False)
        assert r.returncode == 2, bad
    assert not (d / "nodes" / "bad.crt").exists()
    assert not (tmp_path / "other" / "ca.crt").exists()


def test_bad_dates_refused(ca):
    for args in (["--start", "2020-01-01", "--end", "20200201000000Z"],
                 ["--start", "20200201000000Z", "--end", "20200101000000Z"],
                 ["--start", "20200101000000Z"],
                 ["--days", "0"], ["--days", "many"]):
        r = pki("node", "--dir", ca, "--community", "dates", *args,
                check=False)
        assert r.returncode != 0, args
    assert (ca / "index.txt").read_text() == ""


# ---- renew ---------------------------------------------------------------

def serial_of(cert):
    return openssl("x509", "-in", cert, "-noout", "-serial").stdout.strip() \
        .removeprefix("serial=")


def end_of(cert):
    out = openssl("x509", "-in", cert, "-noout", "-enddate").stdout
    return datetime.strptime(out.strip().removeprefix("notAfter="),
                             "%b %d %H:%M:%S %Y %Z")


def pubkey(cert):
    return openssl("x509", "-in", cert, "-noout", "-pubkey").stdout


def san_and_eku(cert):
    """What a renewal must keep: the subjectAltName, key usages and basic
    constraints as openssl prints them."""
    return openssl("x509", "-in", cert, "-noout", "-ext",
                   "subjectAltName,extendedKeyUsage,keyUsage,"
                   "basicConstraints", check=False).stdout


@pytest.mark.parametrize("role", ["hub", "node", "operator"])
def test_renew_keeps_what_is_certified_with_a_new_key(ca, role):
    if role == "hub":
        pki("hub", "--dir", ca, "--name", "hub.alliance.test", "--dns",
            "hub.alliance.test", "--dns", "localhost", "--ip", "127.0.0.1",
            "--ip", "::1")
        crt = ca / "hub.crt"
    elif role == "node":
        pki("node", "--dir", ca, "--community", "badaguan")
        crt = ca / "nodes" / "badaguan.crt"
    else:
        pki("operator", "--dir", ca, "--name", "王小明")
        crt = next((ca / "operators").glob("*.crt"))
    key = crt.with_suffix(".key")
    old = dict(serial=serial_of(crt), end=end_of(crt), subject=subject(crt),
               ext=san_and_eku(crt), pub=pubkey(crt), key=key.read_bytes())
    r = pki("renew", "--dir", ca, crt, "--days", "90")
    assert f"renewing {role} certificate {old['serial']}" in r.stdout
    assert f"revoke --dir {ca} --serial {old['serial']} --reason " \
           "superseded" in r.stdout
    assert serial_of(crt) != old["serial"]
    assert subject(crt) == old["subject"]
    assert san_and_eku(crt) == old["ext"]
    assert pubkey(crt) != old["pub"] and key.read_bytes() != old["key"]
    assert mode(key) == 0o600
    days = (end_of(crt) - datetime.utcnow()).days
    assert 88 <= days <= 90, days
    assert verify(ca, crt).returncode == 0
    # the key is the certificate's
    assert openssl("pkey", "-in", key, "-pubout").stdout == pubkey(crt)
    # both are in the database, the old one still valid until revoked
    index = (ca / "index.txt").read_text()
    assert re.search(rf"^V\t.*\t{old['serial']}\t", index, re.M)
    assert re.search(rf"^V\t.*\t{serial_of(crt)}\t", index, re.M)


def test_renew_keep_key_by_serial_and_out(ca, tmp_path):
    pki("node", "--dir", ca, "--community", "zhongshan")
    crt = ca / "nodes" / "zhongshan.crt"
    key = ca / "nodes" / "zhongshan.key"
    pub, keybytes, first = pubkey(crt), key.read_bytes(), serial_of(crt)
    r = pki("renew", "--dir", ca, crt, "--keep-key")
    assert "kept" in r.stdout
    assert pubkey(crt) == pub and key.read_bytes() == keybytes
    assert serial_of(crt) != first
    # by serial, elsewhere: the files in place are left alone
    out = tmp_path / "elsewhere" / "z"
    pki("renew", "--dir", ca, "--serial", first, "--out", out, "--keep-key",
        "--key", key)
    assert pubkey(out.with_suffix(".crt")) == pub
    assert subject(out.with_suffix(".crt")) == "CN=zhongshan"
    assert verify(ca, out.with_suffix(".crt")).returncode == 0
    r = pki("renew", "--dir", ca, "--serial", first, "--out", out,
            check=False)
    assert r.returncode == 1 and "--force" in r.stderr


def test_renew_an_expired_certificate(ca):
    pki("node", "--dir", ca, "--community", "old-node", "--start",
        "20200101000000Z", "--end", "20200201000000Z")
    crt = ca / "nodes" / "old-node.crt"
    assert verify(ca, crt).returncode != 0
    pki("renew", "--dir", ca, crt)
    assert verify(ca, crt).returncode == 0


def renew_refused(ca, *args, code=1):
    r = pki("renew", "--dir", ca, *args, check=False)
    assert r.returncode == code, r.stdout + r.stderr
    return r.stderr


def test_renew_refuses_bad_input(ca, tmp_path):
    pki("node", "--dir", ca, "--community", "huangdao")
    crt = ca / "nodes" / "huangdao.crt"
    pki("hub", "--dir", ca, "--name", "localhost")
    before = (ca / "index.txt").read_text()
    assert "which certificate" in renew_refused(ca, code=2)
    assert "not both" in renew_refused(ca, crt, "--serial", "01", code=2)
    assert "must be hex" in renew_refused(ca, "--serial", "xyz", code=2)
    assert "--days" in renew_refused(ca, crt, "--days", "0", code=2)
    assert "no certificate with serial" in renew_refused(ca, "--serial",
                                                         "ABC")
    assert "not a PEM certificate" in renew_refused(ca, ca / "index.txt",
                                                    "--out", tmp_path / "x")
    assert "is a CA certificate" in renew_refused(ca, ca / "ca.crt")
    # another CA's certificate
    other = tmp_path / "other"
    pki("init", "--dir", other)
    pki("node", "--dir", other, "--community", "huangdao")
    assert "not issued by this CA" in renew_refused(
        ca, other / "nodes" / "huangdao.crt")
    # --keep-key with a key that is not the certificate's
    assert "is not the key of" in renew_refused(ca, crt, "--key",
                                                ca / "hub.key")
    # a certificate alliance-pki did not shape (no extended key usage)
    (tmp_path / "ext.cnf").write_text(
        "[ext]\nbasicConstraints = critical, CA:FALSE\n")
    openssl("req", "-new", "-newkey", "ec", "-pkeyopt",
            "ec_paramgen_curve:P-256", "-nodes", "-keyout", tmp_path / "o.key",
            "-subj", "/CN=odd", "-out", tmp_path / "o.csr")
    env = dict(os.environ, ALLIANCE_PKI_DIR=str(ca))
    subprocess.run(["openssl", "ca", "-config", ca / "openssl.cnf", "-batch",
                    "-notext", "-in", tmp_path / "o.csr", "-out",
                    tmp_path / "o.crt", "-extfile", tmp_path / "ext.cnf",
                    "-extensions", "ext"], env=env, check=True,
                   capture_output=True)
    before = (ca / "index.txt").read_text()
    assert "not a hub, node or operator certificate" in renew_refused(
        ca, tmp_path / "o.crt")
    # revoked: refused
    pki("revoke", "--dir", ca, crt)
    before = (ca / "index.txt").read_text()
    assert "is revoked" in renew_refused(ca, crt)
    # nothing refused changed the database
    assert (ca / "index.txt").read_text() == before


def test_signing_key_id(tmp_path):
    d = tmp_path / "keys"
    d.mkdir()
    r = pki("signing-key", "--dir", d)
    key, pub = d / "signing.key", d / "signing.pub"
    assert mode(key) == 0o600
    assert "BEGIN PRIVATE KEY" in key.read_text()
    assert "BEGIN PUBLIC KEY" in pub.read_text()
    assert "ED25519" in openssl("pkey", "-in", key, "-noout",
                                "-text").stdout.upper()

    m = re.search(r"^key id: (\S+)$", r.stdout, re.M)
    assert m, r.stdout
    kid = m.group(1)
    assert re.fullmatch(r"[0-9a-f]{16}", kid)

    # Definition: first 16 hex of SHA-256 over the raw 32-byte public key
    # (the last 32 bytes of the 44-byte SubjectPublicKeyInfo DER).
    der = openssl("pkey", "-pubin", "-in", pub, "-outform", "DER",
                  text=False).stdout
    assert len(der) == 44
    assert der[:12] == bytes.fromhex("302a300506032b6570032100")
    assert kid == hashlib.sha256(der[12:]).hexdigest()[:16]

    # key-id recomputes it; a second key is refused without --force.
    assert pki("key-id", "--pub", pub).stdout.strip() == f"key id: {kid}"
    assert pki("signing-key", "--dir", d, check=False).returncode != 0
    r2 = pki("signing-key", "--dir", d, "--out", d / "next")
    kid2 = re.search(r"^key id: (\S+)$", r2.stdout, re.M).group(1)
    assert kid2 != kid


def test_usage(tmp_path):
    r = pki("help")
    for cmd in ("init", "hub", "node", "operator", "signing-key", "revoke",
                "crl", "list"):
        assert re.search(rf"^  {cmd} ", r.stdout, re.M), cmd
    assert pki("--help").returncode == 0
    assert pki("frobnicate", check=False).returncode == 2
    r = pki("node", "--community", "abc", check=False)
    assert r.returncode == 2 and "--dir" in r.stderr
    r = pki("node", "--dir", tmp_path / "nothing", "--community", "abc",
            check=False)
    assert r.returncode != 0 and "init" in r.stderr
