"""One way to text a resident: the SMS/WeChat gateway.

`log` (the default) writes each message as a JSON line to var/sms.log, exactly what a
provider would receive: a street can run and check everything before it signs a
contract. `http` posts the same JSON to a provider's HTTP API (configured by
WEIWANG_SMS_URL and WEIWANG_SMS_TOKEN); most Chinese SMS and WeChat template-message
relays take a small JSON body like this one, or sit behind a relay that does. Tests
point it at a local fake server; it is never called from a test against a real provider.

A failure says whether trying again may help (a timeout, a 5xx, a 429) or not (a 4xx:
the number or the text was refused), and the worker retries or gives up accordingly.
"""
from __future__ import annotations

import asyncio
import json
import logging
from dataclasses import dataclass
from pathlib import Path

import aiohttp

from server.clock import utcnow

log = logging.getLogger(__name__)
# Every publicity message ends with this, as the rules for 宣传短信 require.
OPT_OUT_HINT = "回复TD退订"


class DeliveryError(Exception):
    def __init__(self, message: str, *, retry: bool) -> None:
        super().__init__(message)
        self.retry = retry


@dataclass
class LogGateway:
    path: Path

    async def send_text(self, phone: str, text: str, *, kind: str) -> None:
        line = json.dumps({"at": utcnow().isoformat(timespec="seconds"), "to": phone, "kind": kind, "text": text},
                          ensure_ascii=False)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        with self.path.open("a", encoding="utf-8") as out:
            out.write(line + "\n")
        log.info("sms (log backend) to %s…: %s", phone[:3], text[:40])


@dataclass
class HttpGateway:
    """aiohttp rather than httpx: on a busy 2-core machine it posted 1,000 messages to a local
    server in 0.8 s where httpx's pool took 10 s (tests/benchmarks/bench_notify.py)."""

    url: str
    token: str
    client: aiohttp.ClientSession

    async def send_text(self, phone: str, text: str, *, kind: str) -> None:
        try:
            async with self.client.post(self.url, json={"to": phone, "text": text, "kind": kind},
                                        headers={"authorization": f"Bearer {self.token}"},
                                        timeout=aiohttp.ClientTimeout(total=10)) as response:
                status, body = response.status, (await response.text())[:120]
        except (aiohttp.ClientError, asyncio.TimeoutError) as exc:
            raise DeliveryError(f"provider unreachable: {type(exc).__name__}", retry=True) from None
        if status >= 500 or status == 429:
            raise DeliveryError(f"provider answered {status}", retry=True)
        if status >= 400:
            raise DeliveryError(f"provider refused: {status} {body}", retry=False)


def make_gateway(settings, client: aiohttp.ClientSession):
    if settings.sms_backend == "http":
        return HttpGateway(settings.sms_url, settings.sms_token, client)
    return LogGateway(settings.var_dir / "sms.log")
