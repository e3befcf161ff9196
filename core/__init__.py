"""Infrastructure: configuration, database, clock, the message catalogue, the outbound
WeChat client and the outbox. Everything above (domain, chat, console, scheduler) builds on it."""
