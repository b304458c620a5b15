"""How the server hands out the app: headers that let an update reach phones, and nothing else from pwa/."""
from __future__ import annotations

import json
import re
from pathlib import Path

from server.web import PWA_DIR, SERVED_TYPES, shell_version

PWA = Path(PWA_DIR)


def test_the_page_and_the_service_worker_are_always_revalidated(client):
    page = client.get("/")
    assert page.status_code == 200
    assert page.headers["Cache-Control"] == "no-cache"
    assert page.mimetype == "text/html"
    assert "script-src 'self'" in page.headers["Content-Security-Policy"]
    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["Cache-Control"] == "no-cache"
    assert worker.mimetype == "text/javascript"


def test_the_service_worker_carries_the_version_of_the_shell_it_caches(client):
    source = client.get("/sw.js").get_data(as_text=True)
    assert "__SHELL_VERSION__" not in source
    assert f"const VERSION = '{shell_version()}';" in source


def test_other_assets_are_cacheable_but_revalidated_with_an_etag(client):
    response = client.get("/js/db.js")
    assert response.status_code == 200
    assert response.headers["Cache-Control"] == "public, max-age=0, must-revalidate"
    assert response.mimetype == "text/javascript"
    etag = response.headers["ETag"]
    again = client.get("/js/db.js", headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert client.get("/manifest.webmanifest").mimetype == "application/manifest+json"
    assert client.get("/icons/icon-512.png").mimetype == "image/png"


def test_nothing_under_api_and_no_non_app_file_is_served_from_pwa(client):
    missing = client.get("/api/v9/nothing-here")
    assert missing.status_code == 404
    assert missing.get_json()["error"]["code"] == "not_found"
    assert client.get("/README.md").status_code == 404
    assert client.get("/icons/make_icons.py").status_code == 404
    assert client.get("/../server/config.py").status_code == 404


def test_the_shell_list_of_the_service_worker_names_every_file_of_the_app():
    source = (PWA / "js" / "sw-strategies.js").read_text()
    listed = set(re.findall(r"^  '(/[^']*)',$", source, re.M))
    served = {"/" + str(p.relative_to(PWA)) for p in PWA.rglob("*") if p.is_file() and p.suffix in SERVED_TYPES}
    served -= {"/index.html", "/sw.js"}
    assert listed - {"/"} == served
    assert "/" in listed


def test_the_manifest_makes_the_app_installable():
    manifest = json.loads((PWA / "manifest.webmanifest").read_text())
    assert manifest["display"] == "standalone" and manifest["start_url"] == "/"
    assert manifest["name"] and manifest["short_name"] and manifest["theme_color"]
    purposes = {(icon["sizes"], icon["purpose"]) for icon in manifest["icons"]}
    assert {("192x192", "any"), ("512x512", "any"), ("192x192", "maskable"), ("512x512", "maskable")} <= purposes
    for icon in manifest["icons"]:
        data = (PWA / icon["src"].lstrip("/")).read_bytes()
        assert data[:8] == b"\x89PNG\r\n\x1a\n"
        width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
        assert f"{width}x{height}" == icon["sizes"]


def test_every_module_of_the_app_says_why_it_exists_and_stays_small():
    # Vendored libraries (pwa/vendor/, e.g. uPlot) are kept byte for byte as published, so they are not ours to annotate.
    for path in [p for p in PWA.rglob("*.js") if "vendor" not in p.relative_to(PWA).parts]:
        text = path.read_text()
        assert text.startswith("// Why:"), f"{path.name} does not open with a comment on why it exists"
        assert text.count("\n") < 500, f"{path.name} has grown past 500 lines"


def test_text_is_gzipped_for_clients_that_accept_it_and_revalidates_in_both_encodings(client):
    import gzip

    plain = client.get("/js/db.js")
    zipped = client.get("/js/db.js", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert "Content-Encoding" not in plain.headers
    assert zipped.headers["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped.headers["Vary"]
    assert gzip.decompress(zipped.get_data()) == plain.get_data() == (PWA / "js" / "db.js").read_bytes()
    assert len(zipped.get_data()) < len(plain.get_data()) / 2
    assert plain.headers["ETag"] != zipped.headers["ETag"]
    again = client.get("/js/db.js", headers={"Accept-Encoding": "gzip", "If-None-Match": zipped.headers["ETag"]})
    assert again.status_code == 304
    worker = client.get("/sw.js", headers={"Accept-Encoding": "gzip"})
    assert f"'{shell_version()}'" in gzip.decompress(worker.get_data()).decode()
    icon = client.get("/icons/icon-192.png", headers={"Accept-Encoding": "gzip"})
    assert "Content-Encoding" not in icon.headers  # PNGs are compressed already
