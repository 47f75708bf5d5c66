"""Handoff: the outbox, outbound webhooks (Standard Webhooks) and the lead timeline."""
