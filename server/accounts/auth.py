"""Who is asking: the session middleware, the `viewer` dependency and the guard."""
from __future__ import annotations

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.exceptions import NotAuthorizedException
from litestar.handlers import BaseRouteHandler
from litestar.middleware import AbstractAuthenticationMiddleware, AuthenticationResult

from server.accounts.scope import Viewer
from server.accounts.sessions import COOKIE_NAME, load_viewer


class SessionAuthMiddleware(AbstractAuthenticationMiddleware):
    """Puts the Viewer (or None for a visitor) on `connection.user`."""

    async def authenticate_request(self, connection: ASGIConnection) -> AuthenticationResult:
        token = connection.cookies.get(COOKIE_NAME)
        viewer = None
        if token:
            state = connection.app.state
            async with state.sessionmaker() as db:
                viewer = await load_viewer(db, token, state.settings.session_days)
        return AuthenticationResult(user=viewer, auth=token if viewer else None)


def signed_in(connection: ASGIConnection, _: BaseRouteHandler) -> None:
    """Guard: the page needs a signed-in person (pages redirect to sign-in, JSON gets 401)."""
    if connection.user is None:
        raise NotAuthorizedException("signed_out")


async def provide_viewer(request: Request) -> Viewer:
    if request.user is None:
        raise NotAuthorizedException("signed_out")
    return request.user
