"""What the bot keeps about a person, told, exported and erased (docs/privacy.md).

- `notice`: the texts users are told (the widget's notice, Telegram's /start and /privacy, the answers to privacy
  questions), from the configuration staff set (privacy.yml); runs in both runtimes (Python 3.10).
- `records`: the one implementation that finds, exports and erases a person's data in the tracker store, the
  handoff store (tickets, their threads, the outbox) and Review's texts; the retention purge uses it too.
- `log`: what was erased or exported, when, by whom and how much, never the data itself.
"""
