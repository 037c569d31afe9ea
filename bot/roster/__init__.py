"""The roster: importing members from a file, and what a secretary's import may change."""
