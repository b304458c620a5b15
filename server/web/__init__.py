"""Serves the PWA's files from pwa/ at the site root, with caching headers that let an update reach phones.

The service worker owns offline caching, so HTTP caching only has to make sure that a new version is
noticed: the page and the service worker are always revalidated, and the service worker script carries a
version computed from the shell's files, so any change to the shell produces a new worker. Nothing under
/api is served from here; the API's own blueprints (and its JSON 404) own that space.
"""
from __future__ import annotations

import functools
import gzip
import hashlib
import os

from flask import Blueprint, Flask, Response, abort, request
from werkzeug.routing import PathConverter
from werkzeug.security import safe_join

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
# Text compresses to about a third: the shell a phone downloads stays far below its 150 KB budget.
COMPRESSIBLE = {".html", ".js", ".css", ".webmanifest", ".svg"}
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


@functools.lru_cache(maxsize=256)
def _gzipped(path: str, mtime_ns: int, size: int) -> bytes:
    """The file's gzip encoding, cached until the file changes (its mtime and size are the key)."""
    with open(path, "rb") as handle:
        return gzip.compress(handle.read(), 6, mtime=0)


def _serve(filename: str, cache_control: str, transform=None) -> Response:
    """A file of the app, gzipped when the client accepts it, with an ETag for revalidation."""
    extension = os.path.splitext(filename)[1]
    mimetype = SERVED_TYPES.get(extension)
    path = safe_join(PWA_DIR, filename)
    if mimetype is None or path is None or not os.path.isfile(path):
        abort(404)
    stat = os.stat(path)
    tag = f"{stat.st_mtime_ns:x}-{stat.st_size:x}"
    if transform is not None:
        with open(path, encoding="utf-8") as handle:
            body = transform(handle.read()).encode()
        tag = hashlib.sha256(body).hexdigest()[:20]
        compress = "gzip" in request.accept_encodings
        if compress:
            body = gzip.compress(body, 6, mtime=0)
    else:
        compress = extension in COMPRESSIBLE and "gzip" in request.accept_encodings
        if compress:
            body = _gzipped(path, stat.st_mtime_ns, stat.st_size)
        else:
            with open(path, "rb") as handle:
                body = handle.read()
    response = Response(body, content_type=mimetype)  # the charset is in SERVED_TYPES already
    if compress:
        response.headers["Content-Encoding"] = "gzip"
        tag += "-gz"
    response.vary.add("Accept-Encoding")
    response.set_etag(tag)
    response.last_modified = int(stat.st_mtime)
    response.headers["Cache-Control"] = cache_control
    response.headers.update(SECURITY_HEADERS)
    return response.make_conditional(request)


@web.route("/")
def index():
    # The shell must be revalidated so an update is noticed; the service worker caches it offline.
    return _serve("index.html", "no-cache")


@web.route("/sw.js")
def service_worker():
    version = shell_version()
    return _serve("sw.js", "no-cache", transform=lambda source: source.replace(VERSION_PLACEHOLDER, version))


@web.route("/<app_path:filename>")
def asset(filename: str):
    # Cacheable, but revalidated (ETag / Last-Modified) on every use outside the service worker.
    return _serve(filename, "public, max-age=0, must-revalidate")


class AppPathConverter(PathConverter):
    """A path outside /api/: an unknown API path then matches no rule at all and gets the API's JSON 404
    for every method, while a real API route called with the wrong method still answers 405."""

    regex = r"(?!api(?:/|$))[^/].*?"


def register_web(app: Flask) -> None:
    app.url_map.converters["app_path"] = AppPathConverter
    app.register_blueprint(web)
