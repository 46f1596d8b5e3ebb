"""Agent Desk: the call-centre agent's workstation."""

__version__ = "0.1.0"
