"""The OpenAPI document and the interactive docs page, which must work with no network."""

from __future__ import annotations

import re
import shutil
import subprocess
import threading

from werkzeug.serving import make_server


def test_the_openapi_document_describes_every_resource_and_the_bearer_scheme(client):
    spec = client.get("/api/v1/openapi.json").json
    assert spec["openapi"].startswith("3.")
    assert spec["components"]["securitySchemes"]["bearerAuth"] == {"type": "http", "scheme": "bearer"}
    for path in (
        "/api/v1/visits/{visit_id}/checkout",
        "/api/v1/bookings",
        "/api/v1/earnings/me",
        "/api/v1/earnings/what-if",
        "/api/v1/recall-tasks",
        "/api/v1/patients",
        "/api/v1/clinic/pay-plan",
    ):
        assert path in spec["paths"], path


def test_the_docs_page_loads_every_asset_from_this_server(client):
    page = client.get("/api/v1/docs")
    assert page.status_code == 200
    html = page.data.decode()
    assert "http://" not in html and "https://" not in html and 'src="//' not in html
    assets = re.findall(r'(?:src|href)="([^"]+)"', html)
    assert assets and all(a.startswith("/api/v1/docs/static/") for a in assets)
    for asset in assets:
        with client.get(asset) as response:
            assert response.status_code == 200, asset


def test_the_docs_page_renders_the_operations_in_a_real_browser_with_every_other_host_unreachable(app, tmp_path):
    assert shutil.which("chromium"), "Debian's chromium: the suite installs it at start (tests/browser/install.py)"
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        dom = subprocess.run(
            [
                "chromium",
                "--headless",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-quic",
                "--no-first-run",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                f"--user-data-dir={tmp_path}",
                "--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
                "--virtual-time-budget=15000",
                "--dump-dom",
                f"http://127.0.0.1:{server.server_port}/api/v1/docs",
            ],
            capture_output=True,
            text=True,
            timeout=120,
            check=True,
        ).stdout
    finally:
        server.shutdown()
        thread.join(timeout=5)
    # Swagger UI rendered the document: its operation blocks, with our paths, are in the DOM.
    assert 'class="opblock' in dom
    assert "/api/v1/visits/{visit_id}/checkout" in dom
