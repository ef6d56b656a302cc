"""The baseline rosterd's onboarding is compared with (README, "Benchmarks"):
a plain sequential script on the official auth0-python SDK that creates N
users and gives each a role, one call at a time, with the SDK's own retries.

    python3 tests/bench/sdk_onboard.py SIM_URL N [CLIENT_ID SECRET]

Prints one JSON line: wall seconds, Management API requests and 429s (read
from the simulator's request log, so the SDK's retries are counted).
"""

import json
import sys
import time
import uuid
from urllib.parse import urlparse

import httpx
from auth0.authentication import GetToken
from auth0.management.client import Auth0


def request_log(base):
    log = httpx.get(f"{base}/__sim/requests").json()
    total = 0
    limited = 0
    for endpoint, outcomes in log["by_endpoint"].items():
        if "/api/v2" not in endpoint:
            continue
        for outcome, count in outcomes.items():
            total += count
            if outcome == "429":
                limited += count
    return total, limited


def main(argv):
    if len(argv) < 3:
        print(__doc__, file=sys.stderr)
        return 2
    base = argv[1].rstrip("/")
    n = int(argv[2])
    client_id = argv[3] if len(argv) > 3 else "rosterd-sim-client"
    secret = argv[4] if len(argv) > 4 else "rosterd-sim-secret"
    url = urlparse(base)
    token = GetToken(url.netloc, client_id, client_secret=secret, protocol=url.scheme).client_credentials(
        f"{url.scheme}://{url.netloc}/api/v2/"
    )
    mgmt = Auth0(base_url=f"{base}/api/v2", token=token["access_token"])
    role_id = mgmt.roles.list().items[0].id
    before = request_log(base)
    tag = uuid.uuid4().hex[:8]
    start = time.monotonic()
    for i in range(n):
        user = mgmt.users.create(
            connection="Username-Password-Authentication",
            email=f"sdk.{tag}.{i}@example.com",
            password=f"Onboard-{tag}-{i}!aA",
            email_verified=True,
            name=f"Sdk User {i}",
            given_name="Sdk",
            family_name=f"User {i}",
            app_metadata={"employee_id": 900000 + i, "created_by": "productivity_system"},
        )
        mgmt.users.roles.assign(user.user_id, roles=[role_id])
    took = time.monotonic() - start
    after = request_log(base)
    print(json.dumps({
        "users": n,
        "seconds": round(took, 2),
        "requests": after[0] - before[0],
        "http_429": after[1] - before[1],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
