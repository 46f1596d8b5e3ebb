"""Sub-command groups of `agent-desk`; each module has `register(commands, common)`."""
