"""The scheduler process: pushes, reminders and housekeeping, one instance at a time."""
