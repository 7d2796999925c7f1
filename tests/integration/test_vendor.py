"""Browser libraries come from npm (package-lock.json) and are served by the app, never from a CDN."""
import json
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def test_the_pinned_libraries_are_served(client):
    lock = json.loads((ROOT / "package-lock.json").read_text(encoding="utf-8"))
    for package, path in (("echarts", "echarts.min.js"), ("bpmn-js", "bpmn-modeler.production.min.js"),
                          ("dmn-js", "dmn-modeler.production.min.js")):
        assert lock["packages"][f"node_modules/{package}"]["version"]  # pinned by the lock file
        response = client.get(f"/vendor/{package}/{path}")
        assert response.status_code == 200, package
        assert len(response.data) > 10_000
        response.close()


def test_only_the_listed_packages_and_their_dist_folders_are_served(client):
    assert client.get("/vendor/lodash/lodash.js").status_code == 404
    assert client.get("/vendor/echarts/../package.json").status_code == 404
    assert client.get("/vendor/echarts/%2e%2e/package.json").status_code == 404
    assert client.get("/vendor/echarts/no-such-file.js").status_code == 404
