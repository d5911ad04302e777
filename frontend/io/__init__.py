"""Model files: TF.js's layers-model format (model.json + weight shards) in both directions,
Keras .keras/.h5 files, and the IO handlers behind tf.loadLayersModel and model.save."""
from kiln.frontend.io.errors import (MissingDependencyError, ModelFileNotFoundError,
                                     ModelFormatError, ModelIOError, UnsafePathError,
                                     UnsupportedModelError, WeightsError)
from kiln.frontend.io.file_system import FileSystemHandler
from kiln.frontend.io.http import HTTPHandler
from kiln.frontend.io.load import loadLayersModel
from kiln.frontend.io.memory import (decodeWeights, encodeWeights, fromMemory, fromMemorySync,
                                     withSaveHandler, withSaveHandlerSync)
from kiln.frontend.io.router import (getLoadHandlers, getSaveHandlers, registerLoadRouter,
                                     registerSaveRouter)
from kiln.frontend.io.model_json import model_from_json as modelFromJSON

__all__ = ["loadLayersModel", "modelFromJSON", "fromMemory", "fromMemorySync",
           "encodeWeights", "decodeWeights", "getLoadHandlers", "getSaveHandlers",
           "registerLoadRouter", "registerSaveRouter",
           "withSaveHandler", "withSaveHandlerSync", "FileSystemHandler", "HTTPHandler",
           "ModelFormatError", "UnsupportedModelError", "WeightsError", "UnsafePathError",
           "ModelFileNotFoundError", "ModelIOError", "MissingDependencyError"]
