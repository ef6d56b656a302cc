#!/usr/bin/env python3
"""A real SMTP server for tests: aiosmtpd on 127.0.0.1, every message it
accepts written as one JSON file into --dir *before* the server answers 250,
so a client that got 250 can read the file at once.

Each file (`000001.json`, ...) holds the envelope and the decoded message:
mail_from, rcpt_tos, subject, to, text (text/plain part), html (text/html
part), raw. Prints `READY <port>` on stdout once listening (--port 0, the
default, picks a free port). --auth USER:PASS requires SMTP AUTH (allowed
without TLS, for the test only).
"""

import argparse
import asyncio
import email
import email.policy
import json
import os
import sys

from aiosmtpd.smtp import SMTP, AuthResult, LoginPassword


class Capture:
    def __init__(self, directory):
        self.directory = directory
        self.count = 0

    async def handle_DATA(self, server, session, envelope):
        msg = email.message_from_bytes(envelope.content, policy=email.policy.default)
        parts = {"text": None, "html": None}
        for part in msg.walk():
            kind = part.get_content_type()
            if kind == "text/plain" and parts["text"] is None:
                parts["text"] = part.get_content()
            elif kind == "text/html" and parts["html"] is None:
                parts["html"] = part.get_content()
        self.count += 1
        record = {
            "mail_from": envelope.mail_from,
            "rcpt_tos": envelope.rcpt_tos,
            "subject": str(msg["subject"]),
            "to": str(msg["to"]),
            "text": parts["text"],
            "html": parts["html"],
            "raw": envelope.content.decode("utf-8", "replace"),
        }
        path = os.path.join(self.directory, "%06d.json" % self.count)
        with open(path + ".tmp", "w", encoding="utf-8") as f:
            json.dump(record, f)
        os.replace(path + ".tmp", path)
        return "250 OK"


def authenticator(expected):
    user, password = expected.split(":", 1)

    def check(server, session, envelope, mechanism, auth_data):
        ok = (
            isinstance(auth_data, LoginPassword)
            and auth_data.login.decode() == user
            and auth_data.password.decode() == password
        )
        # handled=False: aiosmtpd answers 235 or 535 itself.
        return AuthResult(success=ok, handled=False)

    return check


async def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, default=0)
    p.add_argument("--auth")
    args = p.parse_args()

    handler = Capture(args.dir)
    options = {}
    if args.auth:
        options = dict(
            authenticator=authenticator(args.auth),
            auth_required=True,
            auth_require_tls=False,
        )
    loop = asyncio.get_running_loop()
    server = await loop.create_server(
        lambda: SMTP(handler, hostname="capture.test", **options), "127.0.0.1", args.port
    )
    port = server.sockets[0].getsockname()[1]
    print("READY %d" % port, flush=True)
    # Until the test kills us, or closes our stdin.
    await loop.run_in_executor(None, sys.stdin.read)
    server.close()


if __name__ == "__main__":
    asyncio.run(main())
