"""The outbox and the lead timeline: the events every domain emits, written in its transaction."""
