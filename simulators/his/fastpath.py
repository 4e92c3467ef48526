"""The hot routes called straight from the ASGI layer, without FastAPI's per-request machinery.

Under load the profile put a fifth of the server's CPU between the Gateway and the route functions:
routing, exception and exit-stack middleware, dependency solving, request object wrapping. For the
routes a kiosk calls all morning, `FastRoutes` (an ASGI middleware inside the Gateway, which has
already checked the token and buffered the body) matches the path itself, validates the path, query
and body parameters with the very fields FastAPI built from the route's signature, and calls the route
function. The routes stay registered with FastAPI, so the OpenAPI document is generated from them as
before; and a request the fast path is not sure of — a parameter that does not validate, a body that is
not JSON, a repeated query parameter — goes on to FastAPI unchanged, which answers it exactly as it
always did (the 422 with its details, ...).
"""

from __future__ import annotations

import inspect
import json
import re
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass
from typing import Any
from urllib.parse import parse_qsl

from fastapi.routing import APIRoute
from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from simulators.his.errors import ApiError

_JSON_TYPES = frozenset({b"application/json", b"application/json; charset=utf-8"})


class _Unsure(Exception):
    """The fast path leaves this request to FastAPI."""


@dataclass(frozen=True)
class _Route:
    """One hot route as the fast path calls it."""

    method: str
    pattern: re.Pattern[str]
    call: Callable[..., Any]
    is_async: bool
    path_fields: tuple[Any, ...]  # FastAPI's ModelFields: .name, .alias, .validate(value), .default
    query_fields: tuple[Any, ...]
    body_field: Any | None
    request_name: str | None

    @classmethod
    def of(cls, route: APIRoute) -> _Route:
        d = route.dependant
        if (
            d.dependencies
            or d.header_params
            or d.cookie_params
            or len(d.body_params) > 1
            or route.response_model
        ):
            raise ValueError(f"{route.path}: only plain parameters and a single body can take the fast path")
        (method,) = route.methods
        return cls(
            method=method,
            pattern=route.path_regex,
            call=d.call,
            is_async=inspect.iscoroutinefunction(d.call),
            path_fields=tuple(d.path_params),
            query_fields=tuple(d.query_params),
            body_field=d.body_params[0] if d.body_params else None,
            request_name=d.request_param_name,
        )

    def arguments(self, scope: dict, match: re.Match[str]) -> dict[str, Any]:
        """The route function's keyword arguments, validated as FastAPI would, or _Unsure."""
        args: dict[str, Any] = {}
        path = match.groupdict()
        for f in self.path_fields:
            args[f.name] = _valid(f, path[f.name])
        if self.query_fields:
            pairs = parse_qsl(scope["query_string"].decode("latin-1"), keep_blank_values=True)
            query = dict(pairs)
            if len(query) != len(pairs):
                raise _Unsure
            for f in self.query_fields:
                if f.alias in query:
                    args[f.name] = _valid(f, query[f.alias])
                elif f.field_info.is_required():
                    raise _Unsure
                else:
                    args[f.name] = f.default
        if self.body_field is not None:
            headers = dict(scope["headers"])
            if headers.get(b"content-type", b"").lower() not in _JSON_TYPES:
                raise _Unsure
            try:
                value = json.loads(scope["state"]["raw_body"])
            except ValueError:
                raise _Unsure from None
            args[self.body_field.name] = _valid(self.body_field, value)
        return args


def _valid(field: Any, value: Any) -> Any:
    checked, errors = field.validate(value)
    if errors:
        raise _Unsure
    return checked


class FastRoutes:
    """ASGI middleware: the given routes served directly, everything else passed on to `app`."""

    def __init__(self, app: Callable[..., Awaitable[None]], routes: Iterable[APIRoute]) -> None:
        self.app = app
        self.routes = [_Route.of(r) for r in routes]

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            for route in self.routes:
                if route.method != scope["method"]:
                    continue
                match = route.pattern.match(scope["path"])
                if match is None:
                    continue
                try:
                    args = route.arguments(scope, match)
                except _Unsure:
                    break
                response = await self._answer(route, args, Request(scope, receive))
                await response(scope, receive, send)
                return
        await self.app(scope, receive, send)

    @staticmethod
    async def _answer(route: _Route, args: dict[str, Any], request: Request) -> Response:
        if route.request_name is not None:
            args[route.request_name] = request
        try:
            if route.is_async:
                response = await route.call(**args)
            else:
                response = await run_in_threadpool(route.call, **args)
        except ApiError as error:
            return JSONResponse(error.body(), status_code=error.status)
        if not isinstance(response, Response):
            raise TypeError(f"{route.call.__name__} must return a Response to take the fast path")
        return response
