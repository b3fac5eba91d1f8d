"""Waypoint's bot: the answer engine, the Telegram handlers, the state store, the CLI."""
