"""Alembic environment and versions for the Agent Desk schema."""
