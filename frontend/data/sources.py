"""Reading text from a file or a URL, chunk by chunk, off the event loop; TextLineDataset.

A source is a local path, a `file://` URL (TF.js's Node convention: `file://` followed by the
path), or an `http://` / `https://` URL fetched with urllib. Blocking reads run in a worker
thread (asyncio.to_thread), so a large file never stalls other asyncio tasks.
"""
from __future__ import annotations

import asyncio
import codecs
import os
import urllib.error
import urllib.request

from kiln.frontend.data.dataset import Dataset
from kiln.frontend.data.iterators import PythonIterator

CHUNK_BYTES = 1 << 20
HTTP_TIMEOUT = 60.0


def describe_source(source, op: str) -> str:
    """Validate a source argument; returns it as a string."""
    if isinstance(source, os.PathLike):
        source = os.fspath(source)
    if not isinstance(source, str) or not source:
        raise TypeError(f"{op}: the source must be a file path, a file:// URL or an http(s) URL, "
                        f"got {type(source).__name__} {source!r:.60}")
    return source


def _is_http(source: str) -> bool:
    return source.lower().startswith(("http://", "https://"))


def _local_path(source: str) -> str:
    return source[len("file://"):] if source.lower().startswith("file://") else source


def _open(source: str, op: str):
    """A binary file-like object for the source (runs in a worker thread)."""
    if _is_http(source):
        try:
            return urllib.request.urlopen(source, timeout=HTTP_TIMEOUT)
        except urllib.error.HTTPError as e:
            e.close()       # the error carries the open response
            raise OSError(f"{op}: fetching {source} failed with HTTP {e.code} {e.reason}") \
                from None
        except urllib.error.URLError as e:
            raise OSError(f"{op}: cannot fetch {source}: {e.reason}") from None
    path = _local_path(source)
    try:
        return open(path, "rb")
    except FileNotFoundError:
        raise FileNotFoundError(f"{op}: no such file {path!r} (source {source!r})") from None
    except IsADirectoryError:
        raise IsADirectoryError(f"{op}: {path!r} is a folder, not a file") from None


async def read_chunks(source: str, op: str):
    """Async generator of the source's bytes, CHUNK_BYTES at a time."""
    stream = await asyncio.to_thread(_open, source, op)
    try:
        while True:
            chunk = await asyncio.to_thread(stream.read, CHUNK_BYTES)
            if not chunk:
                return
            yield chunk
    finally:
        stream.close()


async def read_lines(source: str, op: str):
    """Async generator of the source's lines: UTF-8 (a leading BOM dropped), split at '\\n',
    a trailing '\\r' removed; the empty piece after a final newline is not a line."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    carry = ""
    async for chunk in read_chunks(source, op):
        try:
            text = carry + decoder.decode(chunk)
        except UnicodeDecodeError as e:
            raise ValueError(f"{op}: {source} is not UTF-8 text ({e.reason})") from None
        *lines, carry = text.split("\n")
        for line in lines:
            yield line[:-1] if line.endswith("\r") else line
    carry += decoder.decode(b"", final=True)
    if carry:
        yield carry[:-1] if carry.endswith("\r") else carry


class TextLineDataset(Dataset):
    """The lines of a text source, as Python strings (not batched)."""

    def __init__(self, source, op: str = "TextLineDataset"):
        self.source = describe_source(source, op)
        self.op = op

    async def iterator(self):
        return PythonIterator(read_lines(self.source, self.op), self.op)
