"""An offline, faithful stand-in for the WeChat platform (API side, client side, chat page)."""
