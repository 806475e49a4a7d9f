"""Manage the noise-removal API's keys from a shell, through the catalog's gRPC API.

    python -m services.catalog.apikeys create "my app"   # prints the key once
    python -m services.catalog.apikeys list
    python -m services.catalog.apikeys revoke 3

The catalog's address comes from CATALOG_ADDRESS (default 127.0.0.1:50051).
"""

from __future__ import annotations

import argparse
import os
import sys

import grpc

from cleantracks_proto import catalog_pb2 as pb
from cleantracks_proto import catalog_pb2_grpc
from services.common.grpc_util import CHANNEL_OPTIONS

__all__ = ["create_key", "main", "verify_key"]


def _stub(address: str) -> tuple[grpc.Channel, catalog_pb2_grpc.CatalogStub]:
    channel = grpc.insecure_channel(address, options=CHANNEL_OPTIONS)
    return channel, catalog_pb2_grpc.CatalogStub(channel)


def create_key(address: str, name: str) -> str:
    """Creates a key named ``name``; returns the key itself."""
    channel, stub = _stub(address)
    with channel:
        reply = stub.CreateApiKey(pb.CreateApiKeyRequest(name=name), timeout=30)
    return str(reply.secret)


def verify_key(address: str, secret: str) -> bool:
    """Whether ``secret`` is a live key."""
    channel, stub = _stub(address)
    with channel:
        try:
            stub.VerifyApiKey(pb.VerifyApiKeyRequest(secret=secret), timeout=30)
        except grpc.RpcError as exc:
            if exc.code() in (grpc.StatusCode.UNAUTHENTICATED, grpc.StatusCode.NOT_FOUND):
                return False
            raise
    return True


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m services.catalog.apikeys", description=__doc__)
    commands = parser.add_subparsers(dest="command", required=True)
    create = commands.add_parser("create", help="create a key and print it (shown only once)")
    create.add_argument("name")
    commands.add_parser("list", help="list the keys (their prefixes, never the keys)")
    revoke = commands.add_parser("revoke", help="revoke a key by its id")
    revoke.add_argument("id", type=int)
    args = parser.parse_args(argv)
    address = os.environ.get("CATALOG_ADDRESS", "127.0.0.1:50051")
    channel, stub = _stub(address)
    try:
        with channel:
            if args.command == "create":
                print(create_key(address, args.name))
            elif args.command == "list":
                for key in stub.ListApiKeys(pb.ListApiKeysRequest(), timeout=30).keys:
                    state = "revoked" if key.revoked else "active"
                    print(f"{key.id}\t{key.prefix}...\t{state}\t{key.name}")
            else:
                key = stub.RevokeApiKey(pb.RevokeApiKeyRequest(id=args.id), timeout=30)
                print(f"revoked {key.id} ({key.prefix}..., {key.name})")
    except grpc.RpcError as exc:
        print(f"error: {exc.details()}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
