"""Meetings (议事会) and activities: sign-ups and the waitlist, and staff operations."""
