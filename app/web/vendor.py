"""Browser libraries installed from npm (package.json, package-lock.json) and served by the app, never from a CDN.

`/vendor/<package>/<file>` serves a file of a package's distribution folder; only the packages named in
VENDOR_PACKAGES are served, and only below their distribution folder.
"""
from pathlib import Path

from flask import abort, current_app, send_from_directory

from app.web import web_bp

ROOT = Path(__file__).resolve().parents[2] / "node_modules"
VENDOR_PACKAGES = {"echarts": "dist", "bpmn-js": "dist", "dmn-js": "dist"}  # package -> folder served


@web_bp.get("/vendor/<package>/<path:filename>")
def vendor(package, filename):
    """A file of an npm package's distribution folder (cached for a day: versions change only with the lock file)."""
    folder = VENDOR_PACKAGES.get(package)
    if folder is None:
        abort(404)
    directory = Path(current_app.config.get("NODE_MODULES_DIR") or ROOT) / package / folder
    return send_from_directory(directory, filename, max_age=86400)
