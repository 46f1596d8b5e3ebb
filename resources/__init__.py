"""Packaged resources: script packs, icons, translations, styles."""
