"""Bundled weights of the domain extractors (NAME.pt state dict + NAME.json card); see docs/extractors/domain.md."""
