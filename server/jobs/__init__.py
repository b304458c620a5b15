"""Scheduled jobs. They run in one scheduler process (Procfile `scheduler`), never inside web workers."""
