"""Clean-Tracks services: gateway, catalog, transcriber and censor."""
