"""Handoff: outbound webhooks (Standard Webhooks), the call-center queue and the lead timeline
read; the outbox they deliver from is app.outbox."""
