"""The back office (`bot web`): the project manager's inbox of handoff tickets, its JSON API, the
health check, and the process that delivers pending notifications and purges old personal data.

Server-rendered on purpose: one manager, a handful of pages, no JavaScript needed to read a ticket.
"""
