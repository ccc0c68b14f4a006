#!/usr/bin/env python3
"""Creates the four accounts the fuzz run signs in as, through the API and the .eml
files the service writes without SMTP, and prints their access tokens as JSON:
{"applicant": ..., "reviewer": ..., "finance": ..., "admin": ...}.

Usage: fuzz_accounts.py BASE_URL DATA_DIR ADMIN_EMAIL ADMIN_PASSWORD
"""
import email
import email.policy
import json
import pathlib
import re
import sys
import time
import urllib.error
import urllib.request

BASE, DATA_DIR, ADMIN_EMAIL, ADMIN_PASSWORD = sys.argv[1:5]
PASSWORD = "fuzzing password 12345"


def call(method, path, body=None, token=None):
    req = urllib.request.Request(BASE + "/api/v1" + path, method=method)
    req.add_header("Content-Type", "application/json")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    data = json.dumps(body).encode() if body is not None else None
    try:
        with urllib.request.urlopen(req, data) as resp:
            return resp.status, json.loads(resp.read() or b"null")
    except urllib.error.HTTPError as e:
        return e.code, json.loads(e.read() or b"null")


def must(expected, result):
    status, body = result
    if status != expected:
        sys.exit(f"fuzz setup: expected {expected}, got {status}: {body}")
    return body


def link_token(address):
    """The token of the newest emailed link to `address` (the .eml spool)."""
    for _ in range(100):
        found = []
        for path in pathlib.Path(DATA_DIR, "mail").glob("*.eml"):
            msg = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            if address in str(msg["To"]):
                text = msg.get_body(preferencelist=("plain",)).get_content()
                match = re.search(r"token=([A-Za-z0-9_\-]+)", text)
                if match:
                    found.append((path.stat().st_mtime, match.group(1)))
        if found:
            return max(found)[1]
        time.sleep(0.1)
    sys.exit(f"fuzz setup: no emailed link for {address}")


def login(address):
    return must(200, call("POST", "/auth/login", {"email": address, "password": PASSWORD}))["access_token"]


admin = must(200, call("POST", "/auth/login", {"email": ADMIN_EMAIL, "password": ADMIN_PASSWORD}))["access_token"]
tokens = {"admin": admin}
for role in ("reviewer", "finance"):
    address = f"{role}@fuzz.test"
    must(201, call("POST", "/admin/staff", {"email": address, "full_name": role.title(), "roles": [role]}, admin))
    must(204, call("POST", "/auth/password-reset/confirm", {"token": link_token(address), "password": PASSWORD}))
    tokens[role] = login(address)
address = "applicant@fuzz.test"
must(201, call("POST", "/auth/register", {"email": address, "password": PASSWORD, "full_name": "Fuzz Applicant"}))
must(200, call("POST", "/auth/verify-email", {"token": link_token(address)}))
tokens["applicant"] = login(address)
print(json.dumps(tokens))
