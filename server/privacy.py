"""Personal information (个人信息保护): how a resident's details appear in lists.

A base module with no dependencies: pages, exports and the audit log all use it.
"""
from __future__ import annotations


def mask_phone(phone: str) -> str:
    """138****1234: lists never show a whole number."""
    if len(phone) < 7:
        return "*" * len(phone)
    return phone[:3] + "*" * (len(phone) - 7) + phone[-4:]
