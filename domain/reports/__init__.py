"""Reports (报事): categories, places and routing, the lifecycle and its notifications."""
