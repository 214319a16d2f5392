"""The project's own Rasa channels.

`telegram` is imported by the Rasa server (Python 3.10, rasa 3.6, aiohttp 3.9, sanic 21.12, pydantic 1);
`telegram_api` and `telegram_updates` import neither rasa nor bot.settings, so the tools and tests in the
action runtime (Python 3.11) use them too. Keep all three 3.10-compatible.
"""
