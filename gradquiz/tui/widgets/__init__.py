"""Widgets of the quiz screen."""
