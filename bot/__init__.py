"""The chat framework: WeChat webhook, signing, inbound parsing, the per-message pipeline,
the router and the conversation engine. Features plug in from `handlers/`."""
