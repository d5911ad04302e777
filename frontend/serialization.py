"""The class registry behind getConfig/fromConfig and model.json.

Every serializable class (layers, initializers, regularizers, constraints, optimizers,
activations) has a `className`; `registerClass` makes it loadable by that name. User classes
register the same way: `tf.serialization.registerClass(MyLayer)`.
"""
from __future__ import annotations

from contextvars import ContextVar

_REGISTRY: dict[str, type] = {}
# customObjects given to a deserialize() call, visible to the nested deserializations that a
# layer's constructor makes (initializers, wrapped layers, ...).
_CUSTOM_OBJECTS: ContextVar[dict | None] = ContextVar("custom_objects", default=None)


def registerClass(cls, pkg: str | None = None, name: str | None = None):
    """Register `cls` under `cls.className` (or `name`); returns cls (usable as a decorator)."""
    key = name or getattr(cls, "className", None)
    if not key:
        raise ValueError(f"registerClass: {cls.__name__} needs a static `className` attribute")
    if pkg:
        key = f"{pkg}>{key}"
    _REGISTRY[key] = cls
    return cls


def get_class(name: str, kind: str = "layer", custom_objects: dict | None = None):
    custom_objects = custom_objects or _CUSTOM_OBJECTS.get()
    if custom_objects and name in custom_objects:
        return custom_objects[name]
    try:
        return _REGISTRY[name]
    except KeyError:
        raise ValueError(
            f"Unknown {kind}: {name}. This may be due to one of the following reasons:\n"
            f"1. The {kind} is defined in Python, in which case it needs to be ported to kiln "
            "(a Python class with build/call/computeOutputShape/getConfig).\n"
            f"2. The custom {kind} is defined but not registered properly with "
            "tf.serialization.registerClass().") from None


def registered() -> dict[str, type]:
    return dict(_REGISTRY)


def serialize(obj) -> dict | None:
    """{'className': ..., 'config': ...} for a configurable object (None stays None)."""
    if obj is None:
        return None
    return {"className": obj.getClassName(), "config": obj.getConfig()}


def deserialize(value, kind: str = "object", custom_objects: dict | None = None):
    """Inverse of serialize: instantiate the registered class from its config."""
    if value is None:
        return None
    if not isinstance(value, dict) or "className" not in value:
        raise ValueError(f"cannot deserialize {kind} from {value!r}: expected "
                         "{'className': ..., 'config': ...}")
    token = _CUSTOM_OBJECTS.set(custom_objects) if custom_objects else None
    try:
        cls = get_class(value["className"], kind)
        config = value.get("config")
        return cls.fromConfig(cls, list(config) if isinstance(config, list)
                              else dict(config or {}))
    finally:
        if token is not None:
            _CUSTOM_OBJECTS.reset(token)


class Serializable:
    """Base of configurable objects: className, getClassName, getConfig, fromConfig."""

    className = ""

    def getClassName(self) -> str:
        return type(self).className

    def getConfig(self) -> dict:
        return {}

    @staticmethod
    def fromConfig(cls, config: dict):
        return cls(config)
