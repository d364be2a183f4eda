"""The problem ledger (台账), follow-up visits, attendee outcomes and the activity record (活动纪实)."""
