"""The operations dashboard: server-rendered HTML pages behind a staff sign-in."""
