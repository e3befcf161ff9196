"""The domain layer: every use case and rule, called alike by chat, console, CLI and scheduler.

A use case takes a `Unit` (session, config, clock), an `Actor` and its arguments;
it checks permission and rules, writes rows, its audit entry and its pushes, and
raises `Refused` on refusal — leaving nothing written (`@use_case` runs it in a
savepoint). Adapters parse input, call one use case and render the answer.
"""
