"""Reminder engine: pure rules, the tick (claim, advance, send), channels, the scheduler process.

Importing this package starts nothing: the scheduler runs only from `diary scheduler`.
"""
