"""The gateway: the only public surface (FastAPI + Socket.IO)."""
