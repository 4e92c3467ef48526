"""Shared widgets: keypad, step bar, idle countdown, busy overlay, icons."""
