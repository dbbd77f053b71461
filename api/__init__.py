"""The HTTP API: JSON endpoints described by OpenAPI, authentication, errors."""
