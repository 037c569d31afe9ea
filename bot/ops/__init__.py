"""Operating the service: the `palmbot` command, the chat simulator, logs, metrics, probes, off-loop work."""
