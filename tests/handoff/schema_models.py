"""Every table the handoff database's migrations make, as the code describes them: the tickets' models,
Review's decisions, the privacy actions and the staff accounts. A module with a name no other test folder uses."""

from __future__ import annotations

from sqlalchemy import MetaData

from bot.analytics.review import review_decisions, review_questions
from bot.handoff.models import Base
from bot.privacy.log import privacy_actions
from bot.web.account_store import staff_accounts


def all_tables() -> MetaData:
    combined = MetaData()
    for table in [*Base.metadata.tables.values(), review_decisions, review_questions, privacy_actions, staff_accounts]:
        table.to_metadata(combined)
    return combined
