"""Model files: TF.js's layers-model format (model.json + weight shards) in both directions,
Keras .keras/.h5 files, and the IO handlers behind tf.loadLayersModel and model.save.

Where kiln departs from TF.js 4.22 (each on purpose):
  - Loaded weights are not projected through the layers' constraints (TF.js's
    LayerVariable.write does that; Keras never does outside training).
  - Keras configs TF.js refuses load: Keras 3 (batch_shape, DTypePolicy, __keras_tensor__
    inbound nodes, 'layers/dense/vars/0' weight names), L1/L2 regularizer classes, LecunUniform
    spellings, 'gelu_new' (camel-cased to 'geluNew' on load, which TF.js cannot find),
    SeparableConv2D's unused kernel_* options, weight names prefixed with the model's name.
  - Keras .keras and .h5 files load directly (with h5py, the kiln[keras] extra).
  - Saving is atomic (temporary files renamed into place); weights above 4 MiB are written
    as converter-style shards (group1-shardNofM.bin) instead of one weights.bin.
  - generatedBy is 'kiln v<version>' and keras_version 'kiln <version>'.
  - loadLayersModel also takes customObjects (as modelFromJSON does) and requestInit.timeout.
"""
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
