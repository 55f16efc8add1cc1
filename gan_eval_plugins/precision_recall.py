"""Placeholder: this plugin module is being written (it registers nothing yet)."""
