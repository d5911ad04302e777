"""Check a (camelCase) model config against what kiln can build, reporting every problem at once.

Keras writes options TF.js never had. An option whose value changes nothing (`ragged: false`,
`groups: 1`, `renorm: false`, any option set to null, ...) is dropped; any other option a
kiln class does not declare, and every class that is not registered, is collected and
reported in one UnsupportedModelError, so a user sees the whole list, not the first item.
Only kiln's own classes are filtered: a user's registered class gets its config unchanged.
"""
from __future__ import annotations

from kiln.frontend.engine.config import collect_args
from kiln.frontend.io.errors import UnsupportedModelError
from kiln.frontend.serialization import _CUSTOM_OBJECTS, registered


def _always(value, config) -> bool:
    return True


def _equals(*values):
    return lambda value, config: value in values


# Keras options with no TF.js equivalent, and the values at which they change nothing.
NEUTRAL_OPTIONS = {
    "ragged": _equals(False),
    "optional": _equals(False),
    "synchronized": _equals(False),
    "renorm": _equals(False),
    "renormMomentum": lambda value, config: not config.get("renorm"),
    "groups": _equals(1),
    "timeMajor": _equals(False),
    "keepdims": _equals(False),
    "useCudnn": _equals("auto", True, False),
    "rmsScaling": _equals(False),
    # Zeroed outputs at masked steps only show in returned sequences.
    "zeroOutputForMask": lambda value, config: not value or not config.get("returnSequences"),
    # Keras writes the mirrored backward layer Bidirectional builds anyway.
    "backwardLayer": _always,
}
# Keys of container and class-object dicts that are structure, not options.
STRUCTURE_KEYS = ("className", "config", "name", "inboundNodes")
CONTAINERS = ("Model", "Sequential")


def check_supported(topology: dict, where: str, custom_objects: dict | None = None) -> dict:
    """Return `topology` with neutral Keras options removed, or raise listing every class
    and option kiln cannot build."""
    problems: list[str] = []
    unknown: list[str] = []
    known = registered()
    custom = dict(custom_objects or _CUSTOM_OBJECTS.get() or {})

    def visit(value, kind: str):
        if isinstance(value, list):
            return [visit(v, kind) for v in value]
        if not isinstance(value, dict):
            return value
        if "className" in value and isinstance(value.get("config"), (dict, list)):
            return visit_object(value, kind)
        return {k: visit(v, _kind_of(k, kind)) for k, v in value.items()}

    def visit_object(obj: dict, kind: str) -> dict:
        class_name = obj["className"]
        config = obj["config"]
        label = _label(class_name, obj, config)
        cls = custom.get(class_name) or known.get(class_name)
        result = dict(obj)
        if cls is None:
            name = obj.get("name") or (config.get("name") if isinstance(config, dict) else None)
            entry = f"Unknown {kind}: {class_name}" + (f" ({kind} {name!r})" if name else "")
            if entry not in unknown:
                unknown.append(entry)
            return result
        if class_name in CONTAINERS or isinstance(config, list):
            result["config"] = visit(config, "layer")
            return result
        if class_name in custom or not cls.__module__.startswith("kiln."):
            return result
        accepted = set(collect_args(cls))
        if hasattr(cls, "extra_config_keys"):     # e.g. an RNN repeats its cell's options
            accepted |= cls.extra_config_keys(config)
        cleaned = {}
        for key, value in config.items():
            if key in accepted:
                cleaned[key] = visit(value, _kind_of(key, "object"))
            elif value is None:
                continue
            elif key in NEUTRAL_OPTIONS and NEUTRAL_OPTIONS[key](value, config):
                continue
            else:
                problems.append(f"{label}: option {key!r} = {_short(value)} has no kiln "
                                "equivalent")
        result["config"] = cleaned
        return result

    cleaned = visit(topology, "model")
    if unknown or problems:
        lines = []
        if unknown:
            lines.extend(unknown)
            lines.append("an unknown class is either defined in Python Keras (it needs a "
                         "kiln port) or a custom class that must be registered with "
                         "tf.serialization.registerClass(cls) (cls with a static className) "
                         "or passed in customObjects before loading")
        lines.extend(problems)
        raise UnsupportedModelError(f"{where}: kiln cannot build this model:\n  - "
                                    + "\n  - ".join(lines))
    return cleaned


def _kind_of(key: str, default: str) -> str:
    """What a config key holds, for error messages ('kernelInitializer' -> initializer)."""
    lowered = key.lower()
    for kind in ("initializer", "regularizer", "constraint", "layer", "cell"):
        if lowered.endswith(kind) or lowered.endswith(kind + "s"):
            return "layer" if kind == "cell" else kind
    return default


def _label(class_name, obj, config) -> str:
    name = obj.get("name") or (config.get("name") if isinstance(config, dict) else None)
    return f"{class_name} {name!r}" if isinstance(name, str) else class_name


def _short(value) -> str:
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."
