#!/usr/bin/env python3
"""Fidelity check: the official auth0-python SDK against `rosterd auth0-sim`.

Usage: auth0_python_fidelity.py BASE_URL CLIENT_ID CLIENT_SECRET
   (or ROSTERD_SIM_URL / ROSTERD_SIM_CLIENT_ID / ROSTERD_SIM_CLIENT_SECRET)

Gets a token with the SDK's GetToken, then creates, lists, searches,
patches, blocks, assigns roles to and deletes users, runs an export job and
users-import jobs (polled to completion, their summary and per-user errors
read, a third concurrent one refused with 429), all through the SDK,
asserting on what comes back. Exits non-zero on the first failure. The
simulator should keep imports pending for a while (--import-delay-ms 500)
so that two are still active when the third is posted.

auth0-python 5+ builds `https://{domain}` URLs in ManagementClient, so the
management side uses the SDK's generated `Auth0` client with `base_url`
(the documented way to point it elsewhere); the authentication side takes
`protocol="http"`.
"""

import gzip
import json
import os
import sys
import time
import uuid
from urllib.parse import urlparse

import httpx
from auth0.authentication import GetToken
from auth0.management.client import Auth0
from auth0.management.errors import ConflictError, NotFoundError, BadRequestError, TooManyRequestsError


def check(condition, what):
    if not condition:
        raise AssertionError(what)
    print(f"ok - {what}")


def main(argv):
    base = (argv[1] if len(argv) > 1 else os.environ.get("ROSTERD_SIM_URL", "")).rstrip("/")
    client_id = argv[2] if len(argv) > 2 else os.environ.get("ROSTERD_SIM_CLIENT_ID", "rosterd-sim-client")
    secret = argv[3] if len(argv) > 3 else os.environ.get("ROSTERD_SIM_CLIENT_SECRET", "rosterd-sim-secret")
    if not base:
        print(__doc__, file=sys.stderr)
        return 2
    url = urlparse(base)
    domain = url.netloc

    # --- token, through the authentication API client
    token = GetToken(domain, client_id, client_secret=secret, protocol=url.scheme).client_credentials(
        f"{url.scheme}://{domain}/api/v2/"
    )
    check(token["token_type"] == "Bearer" and token["expires_in"] > 0, "GetToken.client_credentials")
    mgmt = Auth0(base_url=f"{base}/api/v2", token=token["access_token"], max_retries=0)

    # --- create
    tag = uuid.uuid4().hex[:10]
    email = f"sdk.{tag}@example.com"
    user = mgmt.users.create(
        connection="Username-Password-Authentication",
        email=email.upper(),
        password="Sdk-Fidelity-2024!",
        email_verified=True,
        verify_email=False,
        given_name="Sdk",
        family_name="Fidelity",
        app_metadata={"employee_id": 4242, "created_by": "productivity_system", "department": "Ship"},
        user_metadata={"full_name": "Sdk Fidelity"},
    )
    user_id = user.user_id
    check(user_id.startswith("auth0|") and len(user_id) == 30, f"users.create -> {user_id}")
    check(user.email == email, "email stored lowercased")
    check(user.identities[0].connection == "Username-Password-Authentication", "identities[0].connection")
    other = mgmt.users.create(connection="Username-Password-Authentication", email=f"sdk.other.{tag}@example.com",
                              password="Sdk-Fidelity-2024!")

    try:
        mgmt.users.create(connection="Username-Password-Authentication", email=email, password="Sdk-Fidelity-2024!")
        check(False, "duplicate create refused")
    except ConflictError as e:
        check(e.status_code == 409 and e.body["errorCode"] == "auth0_idp_error", "duplicate create -> ConflictError 409")
    try:
        mgmt.users.create(connection="Username-Password-Authentication", email=f"weak.{tag}@example.com", password="weak")
        check(False, "weak password refused")
    except BadRequestError as e:
        check("PasswordStrengthError" in e.body["message"], "weak password -> BadRequestError")

    # --- list (the SDK asks for include_totals and pages)
    page = mgmt.users.list(per_page=50, include_totals=True)
    listed = [u.user_id for u in page.items]
    check(user_id in listed, f"users.list finds the user ({len(listed)} on the first page)")

    # --- search
    found = list(mgmt.users.list(q=f'email:"{email}"', search_engine="v3").items)
    check([u.user_id for u in found] == [user_id], "users.list q=email search")
    found = list(mgmt.users.list(q="app_metadata.employee_id:4242", search_engine="v3").items)
    check([u.user_id for u in found] == [user_id], "users.list q=app_metadata.employee_id search")
    by_email = mgmt.users.list_users_by_email(email=email.upper())
    check([u.user_id for u in by_email] == [user_id], "users.list_users_by_email")
    got = mgmt.users.get(user_id)
    check(got.app_metadata["employee_id"] == 4242, "users.get")

    # --- patch: metadata merges one level deep, null removes a key
    patched = mgmt.users.update(user_id, app_metadata={"department": None, "role_code": "PK"}, family_name="Renamed")
    check(patched.app_metadata == {"employee_id": 4242, "created_by": "productivity_system", "role_code": "PK"},
          "users.update merges app_metadata and removes null keys")
    check(patched.family_name == "Renamed", "users.update replaces a profile field")

    # --- block
    blocked = mgmt.users.update(user_id, blocked=True)
    check(blocked.blocked is True, "users.update blocked=True")
    found = [u.user_id for u in mgmt.users.list(q="blocked:true", search_engine="v3").items]
    check(user_id in found and other.user_id not in found, "users.list q=blocked:true")

    # --- roles
    roles = list(mgmt.roles.list().items)
    by_name = {r.name: r.id for r in roles}
    check(len(roles) >= 15 and "Picker" in by_name, f"roles.list ({len(roles)} roles)")
    mgmt.users.roles.assign(user_id, roles=[by_name["Picker"], by_name["Packer"]])
    assigned = sorted(r.name for r in mgmt.users.roles.list(user_id).items)
    check(assigned == ["Packer", "Picker"], "users.roles.assign / users.roles.list")
    mgmt.users.roles.delete(user_id, roles=[by_name["Packer"]])
    check([r.name for r in mgmt.users.roles.list(user_id).items] == ["Picker"], "users.roles.delete")
    mgmt.roles.users.assign(by_name["Shipper"], users=[user_id, other.user_id])
    check("Shipper" in [r.name for r in mgmt.users.roles.list(other.user_id).items], "roles.users.assign (bulk)")

    # --- password-change ticket
    ticket = mgmt.tickets.change_password(user_id=user_id, ttl_sec=3600)
    check(ticket.ticket.startswith(base), "tickets.change_password")

    # --- export job
    job = mgmt.jobs.users_exports.create(
        format="json",
        fields=[{"name": "user_id"}, {"name": "email"},
                {"name": "app_metadata.employee_id", "export_as": "employee_id"}, {"name": "blocked"}],
    )
    check(job.status == "pending" and job.id.startswith("job_"), f"jobs.users_exports.create -> {job.id}")
    deadline = time.time() + 30
    while True:
        state = mgmt.jobs.get(job.id)
        if state.status == "completed":
            break
        check(time.time() < deadline, "export job completes in time")
        time.sleep(0.1)
    location = getattr(state, "location", None) or state.dict().get("location")
    check(bool(location), "completed job has a location")
    raw = httpx.get(location).raise_for_status().content
    rows = [json.loads(line) for line in gzip.decompress(raw).decode().splitlines() if line]
    mine = [r for r in rows if r.get("user_id") == user_id]
    check(mine == [{"user_id": user_id, "email": email, "employee_id": 4242, "blocked": True}],
          f"export file holds the user with the requested fields ({len(rows)} rows)")

    # --- import job: one new user, one that exists (upsert off)
    connection = next(iter(mgmt.connections.list(name="Username-Password-Authentication", take=10)))
    check(connection.id.startswith("con_"), f"connections.list -> {connection.id}")
    imported_email = f"sdk.imported.{tag}@example.com"
    users_file = json.dumps([
        {"email": imported_email, "email_verified": True,
         "app_metadata": {"employee_id": 4343, "created_by": "productivity_system"}},
        {"email": email, "given_name": "Duplicate"},
    ]).encode()

    def run_import(content, upsert=False):
        return mgmt.jobs.users_imports.create(
            users=("users.json", content, "application/json"),
            connection_id=connection.id,
            upsert=upsert,
            send_completion_email=False,
        )

    def wait_for(job_id, what):
        deadline = time.time() + 30
        states = []
        while True:
            state = mgmt.jobs.get(job_id)
            states.append(state.status)
            if state.status not in ("pending", "processing"):
                return state, states
            check(time.time() < deadline, f"{what} finishes in time")
            time.sleep(0.25)

    job = run_import(users_file)
    check(job.status == "pending" and job.type == "users_import", f"jobs.users_imports.create -> {job.id}")
    check(not mgmt.users.list_users_by_email(email=imported_email), "nothing imported while the job is pending")
    state, states = wait_for(job.id, "import job")
    check(state.status == "completed" and states[0] == "pending", f"import job: {' -> '.join(dict.fromkeys(states))}")
    summary = state.summary
    check((summary.inserted, summary.updated, summary.failed, summary.total) == (1, 0, 1, 2),
          "completed import has its summary (1 inserted, 1 failed of 2)")
    failures = mgmt.jobs.errors.get(job.id)
    check(isinstance(failures, list) and len(failures) == 1, "jobs.errors.get lists the failed user")
    check(failures[0].user["email"] == email and failures[0].errors[0].code == "DUPLICATED_USER",
          "the duplicate's error is DUPLICATED_USER, with the user as sent")
    imported = mgmt.users.list_users_by_email(email=imported_email)
    check(len(imported) == 1 and imported[0].app_metadata["employee_id"] == 4343, "the imported user exists")

    # --- at most two import jobs at once
    first = run_import(json.dumps([{"email": f"sdk.a.{tag}@example.com"}]).encode())
    second = run_import(json.dumps([{"email": f"sdk.b.{tag}@example.com"}]).encode())
    try:
        run_import(json.dumps([{"email": f"sdk.c.{tag}@example.com"}]).encode())
        check(False, "a third concurrent import is refused")
    except TooManyRequestsError as e:
        check(e.status_code == 429 and "active import users jobs" in e.body["message"],
              "a third concurrent import -> TooManyRequestsError 429")
    for pending in (first, second):
        check(wait_for(pending.id, "concurrent import")[0].status == "completed", "concurrent import completes")
    mgmt.users.delete(imported[0].user_id)

    # --- delete
    mgmt.users.delete(user_id)
    mgmt.users.delete(other.user_id)
    try:
        mgmt.users.get(user_id)
        check(False, "deleted user is gone")
    except NotFoundError as e:
        check(e.status_code == 404 and e.body["errorCode"] == "inexistent_user", "users.delete -> get is 404")

    print("auth0-python fidelity: all checks passed")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main(sys.argv))
    except Exception as e:  # any failure, SDK error or assertion, fails the run
        print(f"FAILED: {type(e).__name__}: {e}", file=sys.stderr)
        sys.exit(1)
