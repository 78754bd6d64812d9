"""Reaching people: the durable notification outbox, Web Push, the SMS/WeChat gateway, broadcasts."""
