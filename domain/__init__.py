"""Pure rules and models of local service partnerships: no I/O, no Temporal, no SQL."""
