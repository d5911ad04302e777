"""Which IO handler serves a URL or path (TF.js's io.getLoadHandlers / getSaveHandlers).

    an object with load() / save()     used as is
    a URL a registered router claims   that router's handler
    'http://...', 'https://...'        HTTPHandler
    'file://...' or a plain path       FileSystemHandler; '*.keras' / '*.h5' -> KerasFileHandler
"""
from __future__ import annotations

import os

from kiln.frontend.io.file_system import FileSystemHandler, strip_scheme
from kiln.frontend.io.http import HTTPHandler, _check_relative, is_http_url

BROWSER_SCHEMES = ("localstorage://", "indexeddb://", "downloads://")
# tf.io.registerLoadRouter / registerSaveRouter: functions url -> handler or None, consulted
# before the built-in schemes.
LOAD_ROUTERS: list = []
SAVE_ROUTERS: list = []


def registerLoadRouter(router) -> None:
    LOAD_ROUTERS.append(router)


def registerSaveRouter(router) -> None:
    SAVE_ROUTERS.append(router)


def _routed(routers, url, *args):
    return [h for h in (r(url, *args) for r in routers) if h is not None]


def getLoadHandlers(url, loadOptions=None) -> list:
    """tf.io.getLoadHandlers: the handlers that can load `url` (registered routers first)."""
    handlers = _routed(LOAD_ROUTERS, url, loadOptions)
    return handlers or [load_handler(url, dict(loadOptions or {}))]


def getSaveHandlers(url) -> list:
    handlers = _routed(SAVE_ROUTERS, url)
    return handlers or [save_handler(url)]
KERAS_SUFFIXES = (".keras", ".h5", ".hdf5")


def _check_scheme(url: str, verb: str) -> None:
    for scheme in BROWSER_SCHEMES:
        if url.startswith(scheme):
            raise ValueError(f"{verb}: the {scheme} scheme exists only in the browser; use a "
                             "file:// path or an http(s):// URL")


def load_handler(target, options: dict):
    if hasattr(target, "load") and callable(target.load):
        return target
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    if isinstance(target, str):
        routed = _routed(LOAD_ROUTERS, target, options)
        if routed:
            return routed[0]
    if not isinstance(target, str):
        raise TypeError("loadLayersModel: expected a path, a URL or an IO handler with load(), "
                        f"got {type(target).__name__}")
    _check_scheme(target, "loadLayersModel")
    if is_http_url(target):
        return HTTPHandler(target, options.get("requestInit"), options.get("weightPathPrefix"),
                           options.get("onProgress"))
    if strip_scheme(target).lower().endswith(KERAS_SUFFIXES):
        from kiln.frontend.io.keras_file import KerasFileHandler
        return KerasFileHandler(strip_scheme(target))
    return FileSystemHandler(target, options.get("weightPathPrefix"), options.get("onProgress"))


def save_handler(target):
    if hasattr(target, "save") and callable(target.save):
        return target
    if isinstance(target, os.PathLike):
        target = os.fspath(target)
    if isinstance(target, str):
        routed = _routed(SAVE_ROUTERS, target)
        if routed:
            return routed[0]
    if not isinstance(target, str):
        raise TypeError("model.save: expected a path, a URL or an IO handler with save(), got "
                        f"{type(target).__name__}")
    _check_scheme(target, "model.save")
    if is_http_url(target):
        return HTTPHandler(target)
    return FileSystemHandler(target)


def weights_loader_for_prefix(prefix: str):
    """An async function manifest -> [(spec, array)] reading weights from a folder or URL."""
    from kiln.frontend.io.artifacts import decode_artifact_weights

    async def load(manifest):
        if is_http_url(prefix):
            import asyncio
            base = prefix if prefix.endswith("/") else prefix + "/"
            handler = HTTPHandler(base + "model.json", weightPathPrefix=base)
            artifacts = await asyncio.to_thread(_http_weights, handler, manifest)
        else:
            from kiln.frontend.io.file_system import read_weight_groups
            folder = strip_scheme(prefix)
            specs, chunks = read_weight_groups(folder, manifest, folder)
            artifacts = {"weightSpecs": specs, "weightData": chunks}
        return decode_artifact_weights(artifacts, prefix)
    return load


def _http_weights(handler: HTTPHandler, manifest):
    specs, chunks = [], []
    for group in manifest:
        for path in group["paths"]:
            _check_relative(path, handler.weightPathPrefix)
            chunks.append(handler._fetch(handler.weightPathPrefix + path))
        specs.extend(group["weights"])
    return {"weightSpecs": specs, "weightData": chunks}
