"""What the bot recorded, read back for staff: user turns from Rasa's SQL tracker store (`turns`) and the
figures of the back office's Insights page (`insights`).

Nothing here copies a conversation elsewhere: every figure is computed on request from the tracker store,
so the retention purge (bot/handoff/conversations.py) erases what the figures are made of too.
"""
