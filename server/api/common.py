"""Small pieces every blueprint shares: the blueprint factory and the page size default."""
from __future__ import annotations

from flask import current_app
from flask_smorest import Blueprint

from server.schemas import ErrorSchema
from server.transport import ApiBlueprint


def blueprint(name: str, url_prefix: str, description: str) -> Blueprint:
    from server.api import API_PREFIX

    return ApiBlueprint(name, __name__, url_prefix=API_PREFIX + url_prefix, description=description)


def per_page(args: dict) -> int:
    return args.get("per_page") or current_app.config["API_DEFAULT_PAGE_SIZE"]


def errors(blp: Blueprint, *statuses: int):
    """Document the error responses a view can give, all in the one error shape."""

    def decorator(view):
        for status in statuses:
            view = blp.alt_response(status, schema=ErrorSchema)(view)
        return view

    return decorator
