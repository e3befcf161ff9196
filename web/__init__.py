"""Public HTTP adapters besides the webhook: Open311, calendars and check-in QR codes, health."""
