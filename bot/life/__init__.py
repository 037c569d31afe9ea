"""Organisational life as the bot runs it: meetings, points awarded, the star review, follow-ups and 督办."""
