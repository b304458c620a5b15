"""Serves the PWA's files from pwa/ at the site root, with caching headers that let an update reach phones.

The service worker owns offline caching, so HTTP caching only has to make sure that a new version is
noticed: the page and the service worker are always revalidated, and the service worker script carries a
version computed from the shell's files, so any change to the shell produces a new worker. Nothing under
/api is served from here; the API's own blueprints (and its JSON 404) own that space.
"""
from __future__ import annotations

import hashlib
import os

from flask import Blueprint, Flask, Response, abort, send_from_directory

PWA_DIR = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", "..", "pwa"))
# Only these kinds of file are part of the app; anything else in pwa/ (README, the icon script) is not served.
SERVED_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".webmanifest": "application/manifest+json",
    ".png": "image/png",
    ".svg": "image/svg+xml",
}
VERSION_PLACEHOLDER = "__SHELL_VERSION__"
# The shell makes no third-party requests and runs no inline script; a page injection gets nowhere.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "
        "connect-src 'self'; worker-src 'self'; manifest-src 'self'; object-src 'none'; "
        "base-uri 'none'; form-action 'self'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

web = Blueprint("web", __name__)


def shell_version() -> str:
    """A short hash of every served file: it changes whenever any part of the shell changes."""
    digest = hashlib.sha256()
    for root, dirs, files in os.walk(PWA_DIR):
        dirs.sort()
        for name in sorted(files):
            if os.path.splitext(name)[1] not in SERVED_TYPES:
                continue
            path = os.path.join(root, name)
            digest.update(os.path.relpath(path, PWA_DIR).encode())
            with open(path, "rb") as handle:
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def _secured(response: Response) -> Response:
    response.headers.update(SECURITY_HEADERS)
    return response


@web.route("/")
def index():
    response = send_from_directory(PWA_DIR, "index.html", mimetype=SERVED_TYPES[".html"])
    # The shell must be revalidated so an update is noticed; the service worker caches it offline.
    response.headers["Cache-Control"] = "no-cache"
    return _secured(response)


@web.route("/sw.js")
def service_worker():
    with open(os.path.join(PWA_DIR, "sw.js"), encoding="utf-8") as handle:
        source = handle.read().replace(VERSION_PLACEHOLDER, shell_version())
    response = Response(source, mimetype="text/javascript")
    response.headers["Cache-Control"] = "no-cache"
    return _secured(response)


@web.route("/<path:filename>")
def asset(filename: str):
    if filename == "api" or filename.startswith("api/"):
        abort(404)  # the API's space: its 404 is the API's JSON error, never a file from here
    mimetype = SERVED_TYPES.get(os.path.splitext(filename)[1])
    if mimetype is None:
        abort(404)
    response = send_from_directory(PWA_DIR, filename, mimetype=mimetype, max_age=0)
    # Cacheable, but revalidated (ETag / Last-Modified) on every use outside the service worker.
    response.headers["Cache-Control"] = "public, max-age=0, must-revalidate"
    return _secured(response)


def register_web(app: Flask) -> None:
    app.register_blueprint(web)
