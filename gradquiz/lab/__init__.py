"""The experiment engine. `client` and `protocol` import no torch; the worker does."""
