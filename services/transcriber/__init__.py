"""The transcriber: faster-whisper behind gRPC, streaming words with timestamps."""
