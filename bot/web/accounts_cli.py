"""`bin/bot accounts …`: the staff accounts from the command line, on the server, for the first administrator
and for whoever has lost their way in. The same store and rules as the Accounts page; passwords from a prompt
(asked twice) or the first line of stdin, never the command line, which `ps` and the shell history show."""

from __future__ import annotations

import argparse
import getpass
import sys

from bot.handoff.config import HandoffSettings
from bot.handoff.store import StoreUnavailable, upgrade
from bot.web.account_store import AccountError, AccountStore, check_roles, check_user_name
from bot.web.passwords import hash_password, password_problem
from bot.web.serve import read_password


def _actor() -> str:
    # Recorded as created_by / changed_by: the command, and the system account that ran it.
    try:
        return f"command ({getpass.getuser()})"
    except (KeyError, OSError):
        return "command"


def _roles(value: str) -> list[str]:
    return [role.strip() for role in value.split(",") if role.strip()]


def _new_hash(user: str) -> str:
    password = read_password()
    problem = password_problem(password, user)
    if problem:
        raise AccountError(problem)
    return hash_password(password)


def _open(settings: HandoffSettings | None) -> AccountStore:
    url = (settings or HandoffSettings()).database_url
    upgrade(url)  # a new deployment's first command makes the tables
    return AccountStore.open(url)


def run(args: argparse.Namespace, settings: HandoffSettings | None = None) -> int:
    try:
        store = _open(settings)
    except StoreUnavailable as exc:
        print(f"accounts: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # a migration that cannot run: the type only, a message may quote the URL
        print(f"accounts: the database could not be prepared ({type(exc).__name__})", file=sys.stderr)
        return 1
    try:
        return _run(store, args)
    except AccountError as exc:
        print(f"accounts {args.action}: {exc}", file=sys.stderr)
        return 2
    except ValueError as exc:  # read_password: the two passwords differ
        print(f"accounts {args.action}: {exc}", file=sys.stderr)
        return 2
    except StoreUnavailable as exc:
        print(f"accounts {args.action}: {exc}", file=sys.stderr)
        return 1
    finally:
        store.close()


def _run(store: AccountStore, args: argparse.Namespace) -> int:
    by = _actor()
    if args.action == "list":
        accounts = store.list()
        if not accounts:
            print("no staff accounts (the account in RIS3_WEB_MANAGER_USER, if set, has every role)")
        for record in accounts:
            state = "disabled" if record.disabled else "enabled"
            print(
                f"{record.user}\t{','.join(record.role_list)}\t{state}\t"
                f"changed {record.changed_at:%Y-%m-%d %H:%M} UTC by {record.changed_by}"
            )
        return 0
    if args.action == "add":
        # Name and roles checked before the password is asked for: a typo costs no typing.
        user, roles = check_user_name(args.user), check_roles(_roles(args.roles))
        record = store.add(user, _new_hash(user), roles, by)
    elif args.action == "set-roles":
        record = store.set_roles(args.user, _roles(args.roles), by)
    elif args.action in ("disable", "enable"):
        record = store.set_disabled(args.user, args.action == "disable", by)
    elif args.action == "password":
        if store.get(args.user) is None:
            raise AccountError(f"No account named {args.user}.")
        record = store.set_password(args.user, _new_hash(args.user), by)
    else:  # argparse allows no other
        raise AccountError(f"unknown action {args.action}")
    state = "disabled" if record.disabled else "enabled"
    print(f"{record.user}: {','.join(record.role_list)}, {state}")
    return 0
