"""E-goi triggers: new contacts and sent campaigns (polling), contact events and transactional
message statuses (webhooks). ``TRIGGERS`` is what the E-goi catalog lists.

There is no polling "contact updated" trigger: see ``triggers.egoi.contacts`` for why; the
``WhenContactEvent`` webhook with the ``edit_subscription`` action reports contact edits."""

from __future__ import annotations

from triggers.egoi.campaigns import WhenCampaignSent
from triggers.egoi.contacts import WhenContactCreated
from triggers.egoi.webhooks import WhenContactEvent, WhenMessageStatusChanges

TRIGGERS = (WhenContactCreated, WhenCampaignSent, WhenContactEvent, WhenMessageStatusChanges)

__all__ = ["TRIGGERS", "WhenCampaignSent", "WhenContactCreated", "WhenContactEvent", "WhenMessageStatusChanges"]
