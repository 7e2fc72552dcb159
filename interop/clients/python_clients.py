#!/usr/bin/python3
"""Drive a gatehouse demonstration server with Debian's Python clients.

Reads GH_BASE, GH_CA, GH_CERT, GH_KEY, GH_PAT, GH_CONSUMER_KEY and
GH_CONSUMER_SECRET from the environment and prints one line per check:
"ok NAME" or "FAIL NAME: why". Run by interop/interop_test.go.
"""
import json
import os
import sys
import traceback

import requests
from requests_oauthlib import OAuth1, OAuth2Session
from oauthlib.oauth1 import SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_PLAINTEXT
from oauthlib.oauth1 import SIGNATURE_TYPE_AUTH_HEADER, SIGNATURE_TYPE_QUERY, SIGNATURE_TYPE_BODY
from oauthlib.oauth2 import LegacyApplicationClient
from authlib.integrations.requests_client import OAuth1Session as AuthlibOAuth1Session
from authlib.integrations.requests_client import OAuth2Session as AuthlibOAuth2Session

BASE = os.environ["GH_BASE"]
CA = os.environ["GH_CA"]
CERT = (os.environ["GH_CERT"], os.environ["GH_KEY"])
PAT = os.environ["GH_PAT"]
KEY = os.environ["GH_CONSUMER_KEY"]
SECRET = os.environ["GH_CONSUMER_SECRET"]
FOREMAN = {"FOREMAN-USER": "admin"}

failed = False


def check(name):
    def run(fn):
        global failed
        try:
            fn()
            print("ok " + name, flush=True)
        except Exception as e:  # any failure is a FAIL line, never a crash
            failed = True
            detail = "".join(traceback.format_exception_only(type(e), e)).strip().replace("\n", " ")
            print("FAIL %s: %s" % (name, detail), flush=True)
        return fn
    return run


def expect(resp, status, scheme=None):
    if resp.status_code != status:
        raise AssertionError("status %d, want %d: %s" % (resp.status_code, status, resp.text[:300]))
    if scheme is not None:
        got = resp.json().get("scheme")
        if got != scheme:
            raise AssertionError("scheme %r, want %r" % (got, scheme))


@check("requests basic")
def _():
    expect(requests.get(BASE + "/api/status", auth=("admin", "satellite-pw"), verify=CA), 200, "basic")


@check("requests basic user@domain")
def _():
    expect(requests.get(BASE + "/ovirt-engine/api", auth=("admin@internal", "ovirt-pw"), verify=CA), 200, "basic")


@check("requests pat")
def _():
    expect(requests.get(BASE + "/api/status", auth=("admin", PAT), verify=CA), 200, "pat")


@check("requests xcat token")
def _():
    r = requests.post(BASE + "/xcatws/tokens", json={"userName": "wsuser", "userPW": "cluster-secret"}, verify=CA)
    expect(r, 201)
    token = r.json()["token"]["id"]
    expect(requests.get(BASE + "/xcatws/nodes", headers={"X-Auth-Token": token}, verify=CA), 200, "token")


@check("requests xcat query credentials")
def _():
    expect(requests.get(BASE + "/xcatws/nodes", params={"userName": "wsuser", "userPW": "cluster-secret"}, verify=CA), 200, "query")


def oauth1_call(method, sigtype, http="GET", **kw):
    auth = OAuth1(KEY, client_secret=SECRET, signature_method=method, signature_type=sigtype)
    return requests.request(http, BASE + "/api/hosts", auth=auth, headers=dict(FOREMAN, **kw.pop("headers", {})), verify=CA, **kw)


for method in (SIGNATURE_HMAC_SHA1, SIGNATURE_HMAC_SHA256, SIGNATURE_PLAINTEXT):
    for sigtype in (SIGNATURE_TYPE_AUTH_HEADER, SIGNATURE_TYPE_QUERY):
        check("requests-oauthlib oauth1 %s %s" % (method, sigtype.lower()))(
            lambda m=method, s=sigtype: expect(oauth1_call(m, s), 200, "oauth1"))
    check("requests-oauthlib oauth1 %s body" % method)(
        lambda m=method: expect(oauth1_call(m, SIGNATURE_TYPE_BODY, http="POST", data={"name": "web01"},
                                            headers={"Content-Type": "application/x-www-form-urlencoded"}), 200, "oauth1"))


@check("requests-oauthlib oauth1 json write")
def _():
    auth = OAuth1(KEY, client_secret=SECRET)
    r = requests.put(BASE + "/api/hosts/1", auth=auth, headers=FOREMAN, json={"host": {"name": "web01"}}, verify=CA)
    expect(r, 200, "oauth1")


for sigtype in ("header", "query", "body"):
    def authlib_oauth1(sigtype=sigtype):
        s = AuthlibOAuth1Session(KEY, SECRET, signature_type=sigtype.upper())
        s.verify, s.trust_env = CA, False
        if sigtype == "body":
            r = s.post(BASE + "/api/hosts", data={"name": "web01"}, headers=FOREMAN)
        else:
            r = s.get(BASE + "/api/hosts?per_page=5", headers=FOREMAN)
        expect(r, 200, "oauth1")
    check("authlib oauth1 " + sigtype)(authlib_oauth1)


@check("requests-oauthlib oauth2 password grant (scope dropped)")
def _():
    s = OAuth2Session(client=LegacyApplicationClient(client_id="ovirt-engine-sdk"), scope=["ovirt-app-api"])
    s.verify, s.trust_env = CA, False
    tok = s.fetch_token(BASE + "/ovirt-engine/sso/oauth/token", username="admin@internal", password="ovirt-pw",
                        client_id="ovirt-engine-sdk", include_client_id=True, verify=CA)
    if "access_token" not in tok:
        raise AssertionError("no access_token: %r" % tok)
    expect(s.get(BASE + "/ovirt-engine/api"), 200, "oauth2")


@check("authlib oauth2 password grant")
def _():
    s = AuthlibOAuth2Session("ovirt-engine-sdk", scope="ovirt-app-api")
    s.verify, s.trust_env = CA, False
    s.fetch_token(BASE + "/ovirt-engine/sso/oauth/token", username="admin@internal", password="ovirt-pw", grant_type="password")
    expect(s.get(BASE + "/ovirt-engine/api"), 200, "oauth2")


@check("ovirt sso error shape")
def _():
    r = requests.post(BASE + "/ovirt-engine/sso/oauth/token", verify=CA,
                      data={"grant_type": "password", "scope": "ovirt-app-api", "username": "admin@internal", "password": "wrong"},
                      headers={"Accept": "application/json"})
    body = r.json()
    if r.status_code != 400 or body.get("error") != "invalid_grant" or body.get("error_code") != "invalid_grant":
        raise AssertionError("%d %r" % (r.status_code, body))
    # python-ovirt-engine-sdk4 (lib/ovirtsdk4/__init__.py, _get_sso_error)
    # and the Ruby SDK: with error_description, the pair is
    # (error, error_description); without it, (error_code, error).
    if "error_description" in body:
        code, text = body["error"], body["error_description"]
    else:
        code, text = body.get("error_code"), body["error"]
    if code != "invalid_grant" or "incorrect" not in text:
        raise AssertionError("the oVirt SDK would say %r : %r" % (code, text))


@check("oauthlib reads invalid_grant")
def _():
    from oauthlib.oauth2.rfc6749.errors import InvalidGrantError
    s = OAuth2Session(client=LegacyApplicationClient(client_id="ovirt-engine-sdk"), scope=["ovirt-app-api"])
    s.verify, s.trust_env = CA, False
    try:
        s.fetch_token(BASE + "/ovirt-engine/sso/oauth/token", username="admin@internal", password="wrong",
                      client_id="ovirt-engine-sdk", include_client_id=True, verify=CA)
    except InvalidGrantError as e:
        if "incorrect" not in (e.description or ""):
            raise AssertionError("description %r" % e.description)
        return
    raise AssertionError("a wrong password did not raise InvalidGrantError")


@check("urllib basic after the challenge (Satellite)")
def _():
    # urllib's HTTPBasicAuthHandler sends credentials only after a Basic
    # challenge, and reads the first challenge of a 401 (Ansible's uri
    # module without force_basic_auth does the same).
    import ssl
    import urllib.request
    mgr = urllib.request.HTTPPasswordMgrWithDefaultRealm()
    mgr.add_password(None, BASE, "admin", "satellite-pw")
    ctx = ssl.create_default_context(cafile=CA)
    opener = urllib.request.build_opener(urllib.request.HTTPBasicAuthHandler(mgr), urllib.request.HTTPSHandler(context=ctx))
    with opener.open(BASE + "/api/status", timeout=10) as r:
        body = json.loads(r.read().decode())
        if r.status != 200 or body.get("scheme") != "basic":
            raise AssertionError("%d %r" % (r.status, body))


@check("requests persistent-auth session")
def _():
    s = requests.Session()
    s.verify, s.trust_env = CA, False  # a CA bundle in the environment would win over s.verify
    s.headers["Prefer"] = "persistent-auth"
    expect(s.get(BASE + "/ovirt-engine/api", auth=("admin@internal", "ovirt-pw")), 200, "basic")
    if "JSESSIONID" not in s.cookies:
        raise AssertionError("no JSESSIONID cookie")
    expect(s.get(BASE + "/ovirt-engine/api"), 200, "session")


@check("requests mtls")
def _():
    expect(requests.get(BASE + "/v1/state/nodes", cert=CERT, verify=CA), 200, "mtls")


@check("requests ovirt ca download")
def _():
    for path in ("/ovirt-engine/services/pki-resource?resource=ca-certificate&format=X509-PEM-CA", "/ca.crt"):
        r = requests.get(BASE + path, verify=CA)
        if r.status_code != 200 or "BEGIN CERTIFICATE" not in r.text:
            raise AssertionError("%s: %d" % (path, r.status_code))


sys.exit(1 if failed else 0)
