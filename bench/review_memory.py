"""Prints the back office's resident memory before and after Review groups a full queue.

    .venv-actions/bin/python bench/review_memory.py [--questions 3000] [--long-share 0.1] [--requests 3] [--idle 30]

Fills a tracker store (SQLite, in a temporary folder) with `--questions` distinct questions the bot declined
today, in both languages and all channels, a share of them long messages (up to the channels' 2,000 characters,
as load tests and pasted texts send), then starts the back office (`python -m bot web`, a free port, its own
handoff database) on it and asks GET /api/review (the scripts' token) `--requests` times, printing the process's
RSS (VmRSS) and peak (VmHWM) before, after each grouping, a few seconds later (what it keeps), and after the
grouping's model was let go for being idle (`--idle` seconds: RIS3_REVIEW_MODEL_IDLE_SECONDS; 0 skips that).
"""

from __future__ import annotations

import argparse
import json
import os
import random
import secrets
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from sqlalchemy import Column, Float, Integer, MetaData, String, Table, Text, create_engine, insert

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.runtime import free_port  # noqa: E402

# Rasa's events table, as SQLTrackerStore creates it.
EVENTS = Table(
    "events",
    MetaData(),
    Column("id", Integer, primary_key=True),
    Column("sender_id", String(255), nullable=False, index=True),
    Column("type_name", String(255), nullable=False),
    Column("timestamp", Float),
    Column("intent_name", String(255)),
    Column("action_name", String(255)),
    Column("data", Text),
)
OPENINGS = {
    "en": ["What about", "Tell me about", "How does the strategy handle", "Is there anything on", "Who decides on",
           "When will we hear about", "Where can I read about", "Does Kymenlaakso fund"],
    "fi": ["Entä", "Kerro", "Miten strategia käsittelee", "Onko mitään aiheesta", "Kuka päättää",
           "Milloin kuulemme", "Mistä voin lukea", "Rahoittaako Kymenlaakso"],
}
TOPICS = {
    "en": ["harbour cranes", "bus timetables", "forest roads", "school meals", "broadband in villages", "wind parks",
           "nursing homes", "ferry prices", "startup grants", "river fishing", "hydrogen trucks", "library hours",
           "snow clearing", "tourism signs", "art festivals", "summer jobs", "border crossings", "biogas plants"],
    "fi": ["satamanosturit", "bussiaikataulut", "metsätiet", "kouluruoka", "kylien laajakaista", "tuulipuistot",
           "hoivakodit", "lauttahinnat", "aloittavien yritysten tuet", "jokikalastus", "vetyrekat",
           "kirjastojen aukiolo",
           "lumityöt", "matkailukyltit", "taidefestivaalit", "kesätyöt", "rajanylitykset", "biokaasulaitokset"],
}
FILLER = {
    "en": "We run a small company here and have read the plan twice, but the part about our line of work is unclear. ",
    "fi": "Meillä on täällä pieni yritys ja luimme suunnitelman kahdesti, mutta oman alamme osuus jää epäselväksi. ",
}
CHANNELS = {"web": "socketio", "telegram": "telegram", "rest": "rest"}


def questions(count: int, long_share: float, rng: random.Random) -> list[tuple[str, str]]:
    """`count` distinct (language, text) pairs."""
    found: dict[str, str] = {}
    while len(found) < count:
        language = rng.choice(("en", "fi"))
        text = f"{rng.choice(OPENINGS[language])} {rng.choice(TOPICS[language])} in {rng.randint(1, 9999)}?"
        if rng.random() < long_share:
            text = (FILLER[language] * 25)[: rng.randint(800, 1990 - len(text))] + text
        found.setdefault(text, language)
    return [(language, text) for text, language in found.items()]


def fill(url: str, asked: list[tuple[str, str]], now: float) -> None:
    engine = create_engine(url)
    EVENTS.metadata.create_all(engine)
    rows = []
    for number, (language, text) in enumerate(asked):
        channel = ("web", "telegram", "rest")[number % 3]
        sender = f"{channel}:bench-{number:05d}"
        at = now - 3600 + number * 0.5
        user = {"event": "user", "timestamp": at, "text": text, "input_channel": CHANNELS[channel],
                "parse_data": {"intent": {"name": "out_of_scope", "confidence": 0.9}, "entities": [], "text": text}}
        decision = {"kind": "answer", "answered": False, "fact": None, "item": "contact_overview", "score": 0.41,
                    "confidence": 0.1, "hedged": False, "reason": "below threshold", "how": "question", "options": [],
                    "language": language, "channel": CHANNELS[channel], "ref": f"{number:010d}"}
        rows.append({"sender_id": sender, "type_name": "user", "timestamp": at, "intent_name": "out_of_scope",
                     "action_name": None, "data": json.dumps(user)})
        rows.append({"sender_id": sender, "type_name": "slot", "timestamp": at + 0.1, "intent_name": None,
                     "action_name": "last_decision",
                     "data": json.dumps({"event": "slot", "timestamp": at + 0.1, "name": "last_decision",
                                         "value": decision})})
    with engine.begin() as connection:
        connection.execute(insert(EVENTS), rows)
    engine.dispose()


def memory(pid: int) -> dict[str, float]:
    values = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(("VmRSS:", "VmHWM:")):
            values[line.split(":")[0]] = int(line.split()[1]) / 1024
    return values


def get(url: str, token: str, timeout: float = 1800) -> dict:
    request = urllib.request.Request(url, headers={"Authorization": f"Bearer {token}"})
    with urllib.request.urlopen(request, timeout=timeout) as response:
        return json.loads(response.read())


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--questions", type=int, default=3000)
    parser.add_argument("--long-share", type=float, default=0.1, help="share of long messages (800-2,000 chars)")
    parser.add_argument("--requests", type=int, default=3, help="Review requests, one after the other")
    parser.add_argument("--seed", type=int, default=23)
    parser.add_argument("--idle", type=float, default=30, help="the back office's RIS3_REVIEW_MODEL_IDLE_SECONDS")
    args = parser.parse_args()

    work = Path(tempfile.mkdtemp(prefix="ris3-review-memory-"))
    tracker = f"sqlite:///{work / 'tracker.db'}"
    asked = questions(args.questions, args.long_share, random.Random(args.seed))
    fill(tracker, asked, time.time())
    long_ones = sum(1 for _, text in asked if len(text) > 500)
    print(f"queue: {len(asked)} distinct declined questions ({long_ones} of them over 500 characters)")

    port, token = free_port(), secrets.token_hex(24)
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "RIS3_WEB_PORT": str(port),
        "RIS3_WEB_API_TOKEN": token,
        "RIS3_WEB_SECRET_KEY_FILE": str(work / "web-secret.key"),
        "RIS3_HANDOFF_DATABASE_URL": f"sqlite:///{work / 'handoff.db'}",
        "RIS3_TRACKER_DATABASE_URL": tracker,
        "RIS3_REVIEW_MODEL_IDLE_SECONDS": str(args.idle),
        "HF_HUB_OFFLINE": "1",
        "TRANSFORMERS_OFFLINE": "1",
    }
    env.setdefault("RIS3_EMBEDDING_MODEL", str(ROOT / ".cache" / "models" / "multilingual-e5-small"))
    log = open(work / "web.log", "wb")  # noqa: SIM115 - open for the process's life
    process = subprocess.Popen([sys.executable, "-m", "bot", "web"], cwd=ROOT, env=env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            try:
                urllib.request.urlopen(f"{base}/health", timeout=2).read()
                break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    print((work / "web.log").read_text()[-3000:], file=sys.stderr)
                    return 1
                time.sleep(0.5)
        time.sleep(2)
        start = memory(process.pid)
        print(f"started:            RSS {start['VmRSS']:7.0f} MB  (peak {start['VmHWM']:7.0f} MB)")
        for number in range(1, args.requests + 1):
            began = time.monotonic()
            data = get(f"{base}/api/review", token)  # the default period: the last 30 days, today included
            took = time.monotonic() - began
            now = memory(process.pid)
            grouped = sum(len(g["questions"]) + g["more_questions"] for g in data["groups"])
            print(f"after grouping #{number}: RSS {now['VmRSS']:7.0f} MB  (peak {now['VmHWM']:7.0f} MB)  "
                  f"{len(data['groups'])} groups of {grouped} questions in {took:.1f} s")
        time.sleep(5)
        kept = memory(process.pid)
        print(f"5 s later:          RSS {kept['VmRSS']:7.0f} MB  (peak {kept['VmHWM']:7.0f} MB)")
        if args.idle > 0:
            time.sleep(max(0.0, args.idle - 5) + 5)
            idle = memory(process.pid)
            print(f"model let go:       RSS {idle['VmRSS']:7.0f} MB  (peak {idle['VmHWM']:7.0f} MB)  "
                  f"after {args.idle:.0f} s idle")
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(30)
        log.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
