"""The built-in gan-eval plugins. Each module is registered through the ``gan_eval`` entry-point
group in pyproject.toml, exactly as a third-party plugin would be."""
