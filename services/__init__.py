"""Clean-Tracks services: gateway, catalog, transcriber and censor."""

import os

# Our processes fork only to exec at once (pg_ctl, nats-server, the launcher's children).
# gRPC's fork handlers are for children that go on using gRPC; in a child that only
# execs they add nothing, and their post-fork work has crashed children before exec
# (pg_ctl died with SIGSEGV while other threads were in gRPC). Read when grpc first
# loads, so it is set here, before any service imports grpc.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
