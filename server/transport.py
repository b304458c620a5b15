"""How every request is read and every API answer is marked, in one place for the whole app.

* Bodies are read with a cap whatever their framing (a Content-Length or chunked), and a body over the
  cap is a 413 with the limit in ``details``, never silently cut.
* JSON is parsed once, strictly: no NaN or Infinity, and nesting deeper than any real request is a 400.
  The parsed value is what ``request.get_json()`` and the argument schemas both see.
* Ids in paths are whole numbers the database can hold; any other id matches no route (a JSON 404).
* API answers carry headers that keep personal data out of caches and stop a browser sniffing or
  framing them.
"""
from __future__ import annotations

import json
from typing import Any

from flask import Flask, current_app, request
from flask_smorest import Blueprint
from webargs.flaskparser import FlaskParser
from werkzeug.exceptions import RequestEntityTooLarge
from werkzeug.routing import IntegerConverter

from server.errors import BadRequest, PayloadTooLarge
from sync.rules import MAX_ID

# Deeper than anything Groundwork sends (a push is 6 levels deep at most); 5,000 levels is an attack.
MAX_JSON_DEPTH = 32
BODY_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})
API_HEADERS = {
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "Content-Security-Policy": "default-src 'none'; frame-ancestors 'none'",
    "Referrer-Policy": "no-referrer",
}


def _up_to(limit: int) -> str:
    """A regex matching exactly the decimal numbers 1 to ``limit``, without leading zeros."""
    digits = str(limit)
    ways = [rf"[1-9]\d{{0,{len(digits) - 2}}}"] if len(digits) > 1 else []
    for i, d in enumerate(digits):
        low = "1" if i == 0 else "0"
        if int(d) > int(low):
            ways.append(f"{digits[:i]}[{low}-{int(d) - 1}]" + (rf"\d{{{len(digits) - i - 1}}}" if i < len(digits) - 1 else ""))
    ways.append(digits)
    return "(?:" + "|".join(ways) + ")"


class IdConverter(IntegerConverter):
    """``<int:...>`` in every route: 1 to 2^31-1, the range of the database's ids. The range is in the rule's
    regex itself, so outside it no route matches for any method: ``/electors/2147483648`` and ``PATCH
    /lists/0`` are the same JSON 404 as any other unknown id (not a 405 from a route of another method)."""

    regex = _up_to(MAX_ID)

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("min", 1)
        kwargs.setdefault("max", MAX_ID)
        super().__init__(map, *args, **kwargs)


def body_limit(config_key: str, detail: str = "max_bytes"):
    """Give a view its own body cap, read from ``config_key`` (the app-wide cap is MAX_CONTENT_LENGTH)."""

    def decorator(view):
        view._gw_body_limit = (config_key, detail)
        return view

    return decorator


def _limit() -> tuple[int, str]:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    config_key, detail = getattr(view, "_gw_body_limit", ("MAX_CONTENT_LENGTH", "max_bytes"))
    return current_app.config[config_key], detail


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _depth_exceeds(value: Any, limit: int) -> bool:
    """Whether containers nest more than ``limit`` deep; iterative, so no input can exhaust the stack."""
    stack = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        children = node.values() if isinstance(node, dict) else node
        for child in children:
            if isinstance(child, (dict, list)):
                if depth + 1 > limit:
                    return True
                stack.append((child, depth + 1))
    return False


def parse_json(data: bytes) -> Any:
    """Strict JSON: standard numbers only, bounded nesting. Raises BadRequest with the reason."""
    too_deep = BadRequest("The JSON is nested too deeply.", {"max_depth": MAX_JSON_DEPTH})
    try:
        value = json.loads(data, parse_constant=_refuse_constant)
    except RecursionError:
        raise too_deep from None
    except (ValueError, UnicodeDecodeError) as exc:
        raise BadRequest("The request body is not valid JSON.", {"body": [str(exc)]}) from None
    if isinstance(value, (dict, list)) and _depth_exceeds(value, MAX_JSON_DEPTH):
        raise too_deep
    return value


def load_request_body() -> None:
    """Read the body of an API request under its cap, and parse JSON once (before any view runs)."""
    if request.method not in BODY_METHODS or not request.path.startswith("/api/"):
        return
    limit, detail = _limit()
    too_large = PayloadTooLarge(f"The request body is larger than {limit} bytes.", {detail: limit})
    if request.content_length is not None and request.content_length > limit:
        raise too_large
    # A stream without a length (chunked) is cut at the cap without a word, so read one byte past it:
    # getting that byte is how an over-long body is told from one exactly at the limit.
    request.max_content_length = limit + 1
    try:
        data = request.get_data(cache=True)
    except RequestEntityTooLarge:
        raise too_large from None
    if len(data) > limit:
        raise too_large
    if data and request.is_json:
        parsed = parse_json(data)
        request._cached_json = (parsed, parsed)  # what request.get_json() returns from now on


class StrictParser(FlaskParser):
    """webargs reads JSON bodies through the request's one strict parse, not a lenient second one."""

    def _raw_load_json(self, req):
        if not req.is_json or not req.get_data(cache=True):
            return super()._raw_load_json(req)
        return req.get_json()


class ApiBlueprint(Blueprint):
    ARGUMENTS_PARSER = StrictParser()


def mark_api_response(response):
    """Personal data must not be cached, sniffed as another type, framed, or leak a referrer."""
    if request.path.startswith("/api/"):
        for name, value in API_HEADERS.items():
            response.headers[name] = value
    return response


def register_transport(app: Flask) -> None:
    app.url_map.converters["int"] = IdConverter
    app.before_request(load_request_body)
    app.after_request(mark_api_response)
