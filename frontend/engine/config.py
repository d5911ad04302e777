"""Configuration objects: TF.js takes a dict of lowerCamelCase options; kiln also accepts the
same names as keyword arguments.

Each layer class declares the options it accepts in `ARGS` (name -> default, or REQUIRED).
`parse_args` merges the dict and the keywords, fills defaults, and rejects an unknown key with
a ValueError naming the key, the layer and the closest valid key.
"""
from __future__ import annotations

import difflib

from kiln.frontend.engine.naming import to_camel_case

REQUIRED = object()


def collect_args(cls) -> dict:
    """ARGS of a class and all its bases (subclass entries win)."""
    merged: dict = {}
    for klass in reversed(cls.__mro__):
        merged.update(klass.__dict__.get("ARGS", {}))
    return merged


def suggestion(key: str, valid) -> str:
    camel = to_camel_case(key)
    if camel != key and camel in valid:
        return f"; did you mean {camel!r}?"
    close = difflib.get_close_matches(key, list(valid), n=1, cutoff=0.6)
    if close:
        return f"; did you mean {close[0]!r}?"
    lowered = {v.lower(): v for v in valid}
    if key.lower().replace("_", "") in {k.replace("_", "") for k in lowered}:
        match = next(v for v in valid if v.lower() == key.lower().replace("_", ""))
        return f"; did you mean {match!r}?"
    return ""


def parse_args(owner: str, valid: dict, config, kwargs) -> dict:
    """Merge a TF.js-style config dict with keyword arguments and apply defaults."""
    if config is not None and not isinstance(config, dict):
        raise TypeError(f"{owner}: the configuration must be a dict of options, got "
                        f"{type(config).__name__}")
    given = dict(config or {})
    for k, v in kwargs.items():
        if k in given:
            raise ValueError(f"{owner}: option {k!r} given twice (in the dict and as a keyword)")
        given[k] = v
    for key in given:
        if key not in valid:
            raise ValueError(f"{owner}: unknown option {key!r}{suggestion(key, valid)} "
                             f"(valid options: {', '.join(sorted(valid))})")
    result = {}
    for key, default in valid.items():
        value = given.get(key)
        if value is None:          # TF.js treats null and undefined alike: use the default
            if default is REQUIRED:
                raise ValueError(f"{owner}: the option {key!r} is required")
            value = default
        result[key] = value
    return result
