"""Run Agent Desk: `python main.py` is the same program as `agent-desk`."""

from agent_desk.cli import main

if __name__ == "__main__":
    raise SystemExit(main())
