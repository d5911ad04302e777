"""The http(s) IO handler (TF.js's io.http / browserHTTPRequest), with the standard library.

load() fetches model.json, then the weight files named in its manifest relative to the
model's URL (or to weightPathPrefix), keeping the model URL's query string as TF.js does.
requestInit supplies 'headers' (and 'method' for save); kiln adds 'timeout' (seconds,
default 60). save() POSTs the model as multipart/form-data ('model.json' and
'model.weights.bin'), as TF.js does.
"""
from __future__ import annotations

import asyncio
import socket
import urllib.error
import urllib.request
import uuid

from kiln.frontend.io.artifacts import (artifacts_from_model_json, model_artifacts_info,
                                        model_json, weight_data_bytes)
from kiln.frontend.io.errors import ModelIOError, UnsafePathError, WeightsError
from kiln.frontend.io.js_json import stringify
from kiln.frontend.io.model_json import parse_model_json
from kiln.frontend.io.weights import byte_size

DEFAULT_TIMEOUT = 60.0


def is_http_url(path) -> bool:
    return isinstance(path, str) and path.lower().startswith(("http://", "https://"))


class HTTPHandler:
    def __init__(self, url: str, requestInit=None, weightPathPrefix=None, onProgress=None,
                 timeout=None):
        self.url = url
        self.requestInit = dict(requestInit or {})
        self.weightPathPrefix = weightPathPrefix
        self.onProgress = onProgress
        self.timeout = float(timeout or self.requestInit.get("timeout") or DEFAULT_TIMEOUT)

    def _fetch(self, url: str, max_bytes: int | None = None, data=None, headers=None,
               method=None) -> bytes:
        all_headers = dict(self.requestInit.get("headers") or {})
        all_headers.update(headers or {})
        request = urllib.request.Request(url, data=data, headers=all_headers, method=method)
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                if max_bytes is None:
                    return response.read()
                body = response.read(max_bytes + 1)
                return body
        except urllib.error.HTTPError as e:
            raise ModelIOError(f"{url}: the server answered HTTP {e.code} {e.reason}") from None
        except (socket.timeout, TimeoutError):
            raise ModelIOError(f"{url}: no answer within {self.timeout:g} s (timed out)") \
                from None
        except urllib.error.URLError as e:
            if isinstance(e.reason, (socket.timeout, TimeoutError)):
                raise ModelIOError(f"{url}: no answer within {self.timeout:g} s (timed out)") \
                    from None
            raise ModelIOError(f"{url}: request failed: {e.reason}") from None
        except OSError as e:
            raise ModelIOError(f"{url}: request failed: {e}") from None

    async def load(self) -> dict:
        return await asyncio.to_thread(self._load)

    def _load(self) -> dict:
        text = self._fetch(self.url)
        data = parse_model_json(text, self.url)
        artifacts = artifacts_from_model_json(data)
        manifest = data.get("weightsManifest")
        if manifest is not None:
            base, query = _split_url(self.url)
            prefix = self.weightPathPrefix if self.weightPathPrefix is not None else base
            specs, chunks = [], []
            total = sum(len(g["paths"]) for g in manifest)
            fetched = 0
            for group in manifest:
                expected = byte_size(group["weights"], self.url)
                body = b""
                for path in group["paths"]:
                    _check_relative(path, self.url)
                    body += self._fetch(prefix + path + query, max_bytes=expected - len(body))
                    if len(body) > expected:
                        raise WeightsError(f"{self.url}: weight file(s) "
                                           f"{', '.join(group['paths'])} are longer than the "
                                           f"manifest says (more than {expected} bytes)")
                    fetched += 1
                    if self.onProgress is not None:
                        self.onProgress(fetched / total)
                if len(body) != expected:
                    raise WeightsError(f"{self.url}: weight file(s) "
                                       f"{', '.join(group['paths'])} are shorter than the "
                                       f"manifest says: {len(body)} bytes, but the weights "
                                       f"listed need {expected} bytes")
                specs.extend(group["weights"])
                chunks.append(body)
            artifacts["weightSpecs"] = specs
            artifacts["weightData"] = chunks
        return artifacts

    async def save(self, artifacts: dict) -> dict:
        return await asyncio.to_thread(self._save, artifacts)

    def _save(self, artifacts: dict) -> dict:
        manifest = [{"paths": ["./model.weights.bin"],
                     "weights": list(artifacts.get("weightSpecs") or [])}]
        boundary = uuid.uuid4().hex
        parts = [("model.json", "model.json", "application/json",
                  stringify(model_json(artifacts, manifest)).encode("utf-8")),
                 ("model.weights.bin", "model.weights.bin", "application/octet-stream",
                  weight_data_bytes(artifacts.get("weightData")))]
        body = b""
        for field, filename, ctype, payload in parts:
            body += (f"--{boundary}\r\nContent-Disposition: form-data; name=\"{field}\"; "
                     f"filename=\"{filename}\"\r\nContent-Type: {ctype}\r\n\r\n").encode()
            body += payload + b"\r\n"
        body += f"--{boundary}--\r\n".encode()
        self._fetch(self.url, data=body, method=self.requestInit.get("method", "POST"),
                    headers={"Content-Type": f"multipart/form-data; boundary={boundary}"})
        return {"modelArtifactsInfo": model_artifacts_info(artifacts)}


def _split_url(url: str) -> tuple[str, str]:
    """('http://host/dir/', '?query') for 'http://host/dir/model.json?query'."""
    query = ""
    if "?" in url:
        url, query = url.split("?", 1)
        query = "?" + query
    return url[:url.rfind("/") + 1], query


def _check_relative(path, where):
    if not isinstance(path, str) or not path or "://" in path or path.startswith(("/", "\\")) \
            or ".." in path.replace("\\", "/").split("/"):
        raise UnsafePathError(f"{where}: weight file path {path!r} escapes the model's "
                              "location; refusing to fetch it")
