"""Photos Linli keeps: only these image types are stored and served (anything else is refused)."""
from __future__ import annotations

from pathlib import Path

from flask import abort, send_file

SAFE_IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
                    "image/webp": ".webp"}


def send_photo(config, photo):
    """A stored report photo as a safe image response (image types only, nosniff), or a 404."""
    path = Path(photo.stored_path).resolve() if photo.stored_path else None
    if path is None or photo.content_type not in SAFE_IMAGE_TYPES \
            or config.storage.media_path.resolve() not in path.parents or not path.is_file():
        abort(404)
    response = send_file(path, mimetype=photo.content_type, max_age=3600)
    response.headers["X-Content-Type-Options"] = "nosniff"
    response.headers["Content-Security-Policy"] = "default-src 'none'"
    return response
