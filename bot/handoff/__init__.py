"""Handing a user off to the project manager: the ticket store, its migrations and the outbox that
notifies the manager by e-mail, Telegram or webhook.

A ticket and its notification jobs are written in one transaction; the outbox delivers the jobs
later and keeps retrying, so a channel that is down delays a notification but never loses it.
"""
