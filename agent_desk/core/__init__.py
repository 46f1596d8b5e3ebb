"""Call-centre rules in plain Python: this package never imports Qt."""
