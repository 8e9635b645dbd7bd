"""Run the Twilio stand-in: ``python -m integrations.twilio --port 8765 --auth-token X``.

Point the application's Twilio base URL at the printed address; drive faults
and callbacks with POSTs under ``/_standin/`` (see ``standin_control``).
"""

from __future__ import annotations

import argparse
import logging

from integrations.twilio.standin import StandIn


def main(argv: list[str] | None = None) -> None:
    """Parse arguments and serve until interrupted."""
    parser = argparse.ArgumentParser(prog="python -m integrations.twilio", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1", help="address to bind (default 127.0.0.1)")
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--auth-token", required=True, help="the auth token clients must use")
    parser.add_argument("--account-sid", default=None, help="accept only this account (default: any)")
    parser.add_argument(
        "--account",
        action="append",
        default=[],
        metavar="SID:TOKEN",
        help="also serve this account with its own auth token (a clinic's own; repeatable)",
    )
    parser.add_argument("--latency-ms", type=int, default=0)
    parser.add_argument("--auto-deliver", action="store_true", help="post sent+delivered after each message")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(message)s")
    standin = StandIn(args.port, args.auth_token, args.account_sid, host=args.host)
    for account in args.account:
        sid, _, token = account.partition(":")
        if not sid or not token:
            parser.error("--account takes SID:TOKEN")
        standin.add_account(sid, token)
    standin.set_latency(args.latency_ms)
    standin.set_auto_deliver(args.auto_deliver)
    standin.start()
    logging.getLogger("integrations.twilio").info("Twilio stand-in listening on %s", standin.base_url)
    standin.serve_forever()


if __name__ == "__main__":
    main()
