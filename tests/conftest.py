"""Test configuration: an isolated compiled-code cache per test session."""
import os
import tempfile

# Point the disk cache at a fresh folder before kiln is imported, so every run starts cold
# and never depends on (or pollutes) the user's cache.
os.environ.setdefault("KILN_CACHE_DIR", tempfile.mkdtemp(prefix="kiln-test-cache-"))
