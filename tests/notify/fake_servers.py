"""Local HTTP servers standing in for an SMS provider and a push service (never a real one)."""
from __future__ import annotations

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FakeProvider:
    """Records every POST; answers with `status` (settable while running)."""

    def __init__(self, status: int = 200) -> None:
        self.status = status
        self.received: list[dict] = []
        owner = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive, as a provider's API does

            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("content-length") or 0))
                owner.received.append({"path": self.path, "headers": dict(self.headers), "body": body})
                answer = json.dumps({"ok": owner.status < 400}).encode()
                self.send_response(owner.status)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, *args):
                pass

        class Server(ThreadingHTTPServer):
            request_queue_size = 256  # a worker sends 32 at once: the default backlog of 5 resets connections

        self.server = Server(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> "FakeProvider":
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.server.shutdown()
        self.server.server_close()


def serve_fast() -> None:
    """A provider in its own process for the benchmarks (aiohttp: http.server's thread per
    connection would be what is measured): prints its URL, serves until killed."""
    import asyncio
    import socket

    from aiohttp import web

    async def answer(request):
        await request.read()
        return web.json_response({"ok": True})

    async def main():
        app = web.Application()
        app.router.add_post("/{tail:.*}", answer)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()
        sock = socket.socket()
        sock.bind(("127.0.0.1", 0))
        await web.SockSite(runner, sock).start()
        print(f"http://127.0.0.1:{sock.getsockname()[1]}", flush=True)
        await asyncio.Event().wait()

    asyncio.run(main())


if __name__ == "__main__":
    serve_fast()
