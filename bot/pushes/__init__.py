"""The messages we send: the delivery worker for queued pushes, and what goes out beside a passive reply."""
