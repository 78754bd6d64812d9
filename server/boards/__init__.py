"""Printed boards: the leaders' notice boards (公示牌), compound plans and the structure chart."""
