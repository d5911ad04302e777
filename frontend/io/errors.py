"""The errors model loading and saving raise. Each names the file (or URL) and the problem.

    ModelFormatError(ValueError)     model.json is not valid JSON, has no/unknown `format`, ...
    UnsupportedModelError(ValueError) classes or options kiln has no equivalent for (all listed)
    WeightsError(ValueError)         weight data that does not fit the manifest or the model
    UnsafePathError(ValueError)      a manifest path that would leave the model's folder
    ModelFileNotFoundError(FileNotFoundError)  model.json or a weight file does not exist
    ModelIOError(OSError)            reading or writing failed (permissions, disk, HTTP, timeouts)
    MissingDependencyError(ImportError)  an optional package (h5py) is needed
"""
from __future__ import annotations


class ModelFormatError(ValueError):
    pass


class UnsupportedModelError(ValueError):
    pass


class WeightsError(ValueError):
    pass


class UnsafePathError(ValueError):
    pass


class ModelFileNotFoundError(FileNotFoundError):
    pass


class ModelIOError(OSError):
    pass


class MissingDependencyError(ImportError):
    pass
