"""The API's plumbing: routing, errors, headers, OpenAPI and shared state. Features live in
the other modules of :mod:`api`."""
