"""Persistence: SQLAlchemy models, engine, migrations, repositories (no Qt)."""
