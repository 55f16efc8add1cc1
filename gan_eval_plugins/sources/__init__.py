"""Built-in model-source plugins."""
