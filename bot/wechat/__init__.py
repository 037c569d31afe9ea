"""Talking to WeChat's API: our own aiohttp client, the shared token, and the fake API for the sandbox."""
