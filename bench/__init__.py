"""Performance figures for `python3 dev.py bench`: run as `python -m bench.run`."""
