"""Code shared by several services: domain errors, word-list types, gRPC helpers."""
