"""The back office's commands: `python -m bot.handoff upgrade|ping|outbox|purge|tickets`.

`outbox` runs the delivery loop next to the action server (which also delivers right after each
confirmation), so that notifications whose channel was down go out once it is back. `purge` is meant
for a daily timer; it erases the personal data of tickets older than the retention period.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import logging
import signal
import sys

import aiohttp
from alembic.util import CommandError

from bot.handoff.config import HandoffSettings
from bot.handoff.models import TICKET_STATUSES
from bot.handoff.outbox import RetryPolicy, deliver_due, run_outbox
from bot.handoff.senders import build_senders
from bot.handoff.store import HandoffStore, StoreUnavailable, downgrade, upgrade
from bot.handoff.thread_outbox import deliver_due_messages
from bot.handoff.thread_senders import build_message_senders
from bot.privacy.records import PrivacyStoreUnavailable
from bot.privacy.retention import purge as retention_purge
from bot.privacy.retention import summary

logger = logging.getLogger("bot.handoff")


async def _outbox(store: HandoffStore, settings: HandoffSettings, interval: float, once: bool) -> None:
    for kind, missing in settings.incomplete_channels().items():
        logger.warning("%s notifications are off: %s not set", kind, ", ".join(missing))
    policy = RetryPolicy.from_settings(settings)
    async with aiohttp.ClientSession() as session:
        senders = build_senders(settings, session)
        message_senders = build_message_senders(settings, session)
        logger.info("handoff outbox: channels %s", sorted(senders) or "none")
        if once:
            print(await deliver_due(store, senders, policy=policy))
            print(await deliver_due_messages(store, message_senders, policy=policy))
            return
        stop = asyncio.Event()
        for signum in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(NotImplementedError):  # no signal handlers on some platforms
                asyncio.get_running_loop().add_signal_handler(signum, stop.set)
        await run_outbox(store, senders, interval, stop, policy=policy, message_senders=message_senders)


def main(argv: list[str] | None = None, settings: HandoffSettings | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bot.handoff", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    commands.add_parser("upgrade", help="create or migrate the handoff database")
    commands.add_parser("ping", help="check that the database answers and is migrated")
    downgrade_to = commands.add_parser(
        "downgrade", help="before a rollback: the schema of an earlier release (run with the newer release)"
    )
    downgrade_to.add_argument("revision", help="the migration the earlier release expects, e.g. 0002")
    outbox = commands.add_parser("outbox", help="deliver pending notifications, with retries")
    outbox.add_argument("--interval", type=float, default=30.0, help="seconds between rounds")
    outbox.add_argument("--once", action="store_true", help="one round, then exit")
    purge = commands.add_parser("purge", help="erase personal data older than the retention period")
    purge.add_argument("--days", type=int, help="retention in days (default RIS3_HANDOFF_RETENTION_DAYS)")
    tickets = commands.add_parser("tickets", help="list tickets: reference, status, notifications")
    tickets.add_argument("--status", choices=list(TICKET_STATUSES))
    args = parser.parse_args(argv)

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    settings = settings or HandoffSettings()
    if args.command == "upgrade":
        upgrade(settings.database_url)
        print("handoff database up to date")
        return 0
    if args.command == "downgrade":
        try:
            downgrade(settings.database_url, args.revision)
        except CommandError as exc:
            print(f"handoff: {exc}", file=sys.stderr)
            return 2
        print(f"handoff database at migration {args.revision}")
        return 0
    store = HandoffStore(settings.database_url)
    try:
        if args.command == "ping":
            store.ping()
            print("handoff database ok")
        elif args.command == "outbox":
            asyncio.run(_outbox(store, settings, args.interval, args.once))
        elif args.command == "purge":
            days = settings.retention_days if args.days is None else args.days
            if days < 0:
                print("handoff purge: --days must be 0 or more", file=sys.stderr)
                return 2
            print(summary(retention_purge(settings, days), days))
        elif args.command == "tickets":
            # References and states only: names and contacts are read where they are needed, not listed.
            for ticket in store.list(args.status):
                jobs = ", ".join(f"{j.kind} {j.status}" for j in ticket.jobs) or "no notifications"
                print(f"{ticket.reference}  {ticket.status:8}  {ticket.created_at:%Y-%m-%d %H:%M}  {jobs}")
    except StoreUnavailable as exc:
        print(f"handoff: {exc}", file=sys.stderr)
        return 1
    except PrivacyStoreUnavailable as exc:  # in `purge`
        print(exc, file=sys.stderr)
        return 1
    finally:
        store.close()
    return 0
