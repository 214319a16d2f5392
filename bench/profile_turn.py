"""Where the time of one turn goes: start-up, Rasa, the action server and the retrieval inside it.

    .venv-actions/bin/python bench/profile_turn.py [--repeat 40] [--cprofile 15]

It starts its own action server, then its own Rasa server (bot.runtime), with a recording proxy between them
(tests/e2e/action_proxy.py), and prints:

- start-up: the action server's /health, its knowledge loaded (its log), Rasa's /status and first answer;
- per kind of message (a greeting, thanks, a topic button, English and Finnish questions), medians of the
  whole REST turn, of Rasa's NLU alone (/model/parse), of the action server's round trip as Rasa sees it,
  and of the rest (the turn minus the action call: Rasa's NLU, policies, tracker store, HTTP);
- inside the action server's code, run in this process on the same questions: the query embedding, the
  retrieval decision without it, and the whole turn's answer;
- with --cprofile N, the N functions with the most cumulative time of answering all questions.

Every figure is a median over --repeat messages; run it on a quiet machine.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import pstats
import statistics
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bot.runtime import BotProcesses  # noqa: E402
from tests.e2e.action_proxy import ActionProxy  # noqa: E402

SMALL_TALK = {
    "greeting": ["hi", "hello there", "hei", "moi"],
    "thanks": ["thank you", "thanks!", "kiitos", "kiitos paljon"],
    "button": ['/answer_fact{"fact_id": "priorities_all"}', '/answer_fact{"fact_id": "about_what"}'],
}


def knowledge_questions(language: str) -> list[str]:
    from bot.faq.cases import DEFAULT_CASES, load_case_file

    cases = load_case_file(DEFAULT_CASES / f"e2e_{language}.yml")
    return [c.question for c in cases if c.topic not in ("smalltalk", "out_of_scope")]


def post(url: str, payload: dict[str, object]) -> tuple[float, bytes]:
    request = urllib.request.Request(
        url, data=json.dumps(payload).encode(), headers={"Content-Type": "application/json"}
    )
    started = time.perf_counter()
    with urllib.request.urlopen(request, timeout=60) as response:
        body = response.read()
    return time.perf_counter() - started, body


def ms(values: list[float]) -> str:
    return f"{1000 * statistics.median(values):6.1f}" if values else "     -"


def first_knowledge_answer(bot: BotProcesses, question: str, timeout: float = 240.0) -> float:
    """When the action server first answers a question from the knowledge (not the apology it sends while
    the model is loading), asked the way Rasa asks it; returns that moment (perf_counter)."""
    request = {
        "next_action": "action_answer",
        "sender_id": "profile-start",
        "version": "3.6.21",
        "domain": {},
        "tracker": {
            "sender_id": "profile-start", "slots": {"language": "en"}, "events": [], "paused": False,
            "latest_message": {"text": question, "intent": {"name": "ask_priorities", "confidence": 1.0}},
            "latest_event_time": None, "followup_action": None, "active_loop": {},
            "latest_action_name": "action_listen", "latest_input_channel": "rest",
        },
    }
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        req = urllib.request.Request(
            f"http://127.0.0.1:{bot.action_port}/webhook", data=json.dumps(request).encode(),
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {bot.action_token}"},
        )
        try:
            with urllib.request.urlopen(req, timeout=30) as response:
                reply = json.loads(response.read())
            # The answer's text is Rasa's response template filled with the fact and its source.
            if any(r.get("source") for r in reply.get("responses", [])):
                return time.perf_counter()
        except OSError:
            pass
        time.sleep(0.05)
    raise SystemExit(f"the action server gave no knowledge answer within {timeout:.0f} s")


def start(repeat_first: str) -> tuple[BotProcesses, ActionProxy, dict[str, float]]:
    bot = BotProcesses()
    proxy = ActionProxy(f"http://127.0.0.1:{bot.action_port}").start()
    bot.action_url = f"{proxy.url}/webhook"
    timings: dict[str, float] = {}
    # One server at a time, so that each start-up is timed without the other's competing for the CPU.
    bot.parts = ("actions",)
    bot.launch()
    launched = time.perf_counter()
    timings["action server /health"] = bot.wait_ready().started_seconds
    timings["action server answers"] = first_knowledge_answer(bot, repeat_first) - launched
    bot.parts = ("rasa",)
    started = time.perf_counter()
    bot.launch()
    timings["rasa /status"] = bot.wait_ready().started_seconds  # from Rasa's launch; the actions are up
    post(f"{bot.url}/webhooks/rest/webhook", {"sender": "profile-first", "message": repeat_first})
    timings["rasa first answer"] = time.perf_counter() - started
    bot.parts = ("actions", "rasa")
    return bot, proxy, timings


def profile_server(bot: BotProcesses, proxy: ActionProxy, kinds: dict[str, list[str]], repeat: int) -> None:
    print("\nper turn, medians in ms (REST, one user):")
    print(f"{'kind':<12} {'n':>3} {'turn':>6} {'nlu':>6} {'action':>6} {'rest':>6} {'calls':>5} {'KB sent':>7}")
    for kind, texts in kinds.items():
        turns, parses, actions, rests, calls, sent = [], [], [], [], 0, 0
        for i in range(repeat):
            text = texts[i % len(texts)]
            sender = f"profile-{kind}-{i // 10}"  # a new conversation every ten messages, as visitors have
            before = len(proxy.calls)
            turn, _ = post(f"{bot.url}/webhooks/rest/webhook", {"sender": sender, "message": text})
            made = proxy.calls[before:]
            action = sum(c.seconds for c in made)
            turns.append(turn)
            actions.append(action)
            rests.append(turn - action)
            calls += len(made)
            sent += sum(c.request_bytes for c in made)
            parse, _ = post(bot.api_url("/model/parse"), {"text": text})
            parses.append(parse)
        print(
            f"{kind:<12} {repeat:>3} {ms(turns)} {ms(parses)} {ms(actions)} {ms(rests)} "
            f"{calls / repeat:>5.2f} {sent / repeat / 1024:>7.1f}"
        )


def profile_in_process(kinds: dict[str, list[str]], repeat: int, cprofile_rows: int) -> None:
    from bot.knowledge.conversation import answer_turn
    from bot.knowledge.followup import ConversationState
    from bot.knowledge.service import get_service

    started = time.perf_counter()
    service = get_service()
    print(f"\nin process: knowledge service loaded in {time.perf_counter() - started:.1f} s")
    retriever = service.retriever
    print(f"{'kind':<12} {'n':>3} {'embed':>6} {'decide':>6} {'turn':>6}   (decide and turn exclude nothing)")
    questions: list[tuple[str, str]] = []
    for kind in ("question_en", "question_fi"):
        embeds, decides, turns = [], [], []
        for i in range(repeat):
            text = kinds[kind][i % len(kinds[kind])]
            language = kind[-2:]
            questions.append((text, language))
            t0 = time.perf_counter()
            retriever.embedder.queries([text])
            t1 = time.perf_counter()
            retriever.decide(text)
            t2 = time.perf_counter()
            answer_turn(retriever, text, ConversationState(), language)
            t3 = time.perf_counter()
            embeds.append(t1 - t0)
            decides.append(t2 - t1)
            turns.append(t3 - t2)
        print(f"{kind:<12} {repeat:>3} {ms(embeds)} {ms(decides)} {ms(turns)}")
    if cprofile_rows:
        profiler = cProfile.Profile()
        profiler.enable()
        for text, language in questions:
            answer_turn(retriever, text, ConversationState(), language)
        profiler.disable()
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).sort_stats("cumulative").print_stats(cprofile_rows)
        print(f"\ncProfile of answer_turn over {len(questions)} questions (cumulative):")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=40, help="messages per kind")
    parser.add_argument("--cprofile", type=int, default=0, metavar="N", help="print the N costliest functions")
    args = parser.parse_args()
    kinds = {**SMALL_TALK, "question_en": knowledge_questions("en"), "question_fi": knowledge_questions("fi")}
    bot, proxy, timings = start(kinds["question_en"][0])
    try:
        print("start-up, seconds from launch:")
        for name, seconds in timings.items():
            print(f"  {name:<24} {seconds:6.1f}")
        for i in range(10):  # warm the tracker store and the caches of both servers
            post(f"{bot.url}/webhooks/rest/webhook", {"sender": "profile-warm", "message": kinds["question_en"][i]})
        profile_server(bot, proxy, kinds, args.repeat)
    finally:
        bot.stop()
        proxy.stop()
    profile_in_process(kinds, args.repeat, args.cprofile)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
