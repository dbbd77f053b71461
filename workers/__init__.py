"""Process entry points and wiring: settings, logs, Temporal client, worker, API, embedded stack."""
