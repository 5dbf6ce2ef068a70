"""The controller, campaign runner, event bus and the two front ends (CLI and TUI)."""
