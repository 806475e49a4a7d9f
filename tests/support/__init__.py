"""Helpers shared by the tests: synthesized speech with exact ground truth, media fixtures."""
