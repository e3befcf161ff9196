"""Linli (邻里): a WeChat official-account bot for community governance."""
