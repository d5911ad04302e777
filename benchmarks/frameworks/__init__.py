"""One module per framework measured by the benchmark harness; see _common.py."""
