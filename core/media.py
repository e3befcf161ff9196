"""Photos Linli keeps: only these image types are stored and served (anything else is refused)."""
from __future__ import annotations

SAFE_IMAGE_TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/gif": ".gif",
                    "image/webp": ".webp"}
