"""Adapters: every piece of I/O (storage, notifiers). The domain imports nothing from here."""
