"""Serves the PWA's files from pwa/ at the site root; the API lives under /api/v1."""
from __future__ import annotations

import os

from flask import Blueprint, Flask, send_from_directory

PWA_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "pwa"))

web = Blueprint("web", __name__)


@web.route("/")
def index():
    response = send_from_directory(PWA_DIR, "index.html")
    # The shell must be revalidated so an update is noticed; the service worker caches it offline.
    response.headers["Cache-Control"] = "no-cache"
    return response


@web.route("/<path:filename>")
def asset(filename: str):
    return send_from_directory(PWA_DIR, filename, max_age=0)


def register_web(app: Flask) -> None:
    app.register_blueprint(web)
