"""The test suite; its tree mirrors the code."""
