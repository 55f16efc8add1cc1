"""Experiment scripts that regenerate docs/experiments.md's runs and tables from records."""
