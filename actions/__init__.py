"""Rasa custom actions: thin adapters from the tracker onto bot.knowledge."""
