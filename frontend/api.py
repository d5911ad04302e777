"""The public namespace kiln re-exports: tf.* ops, tf.layers, models, initializers, ..."""
from __future__ import annotations

from types import SimpleNamespace

from kiln.frontend import aot, constraints, gradients, initializers, io, regularizers, \
    serialization
from kiln.frontend.inspect import inspect
from kiln.frontend.data import PUBLIC as DATA
from kiln.frontend.engine import op_layer  # noqa: F401  (enables tf.* ops on SymbolicTensors)
from kiln.frontend.engine.functional import LayersModel, model
from kiln.frontend.engine.input_layer import InputLayer, input
from kiln.frontend.engine.layer import InputSpec, Layer, LayerVariable
from kiln.frontend.engine.sequential import Sequential
from kiln.frontend.engine.symbolic import SymbolicTensor
from kiln.frontend.layers import factories
from kiln.frontend.layers.recurrent import RNN
from kiln.frontend.ops import PUBLIC as OPS
from kiln.frontend.training import callbacks, losses, metrics, optimizers


def sequential(config=None, **kwargs) -> Sequential:
    """tf.sequential({'layers': [...], 'name': ...})."""
    return Sequential(config, **kwargs)


layers = SimpleNamespace(**factories())
initializers_ns = SimpleNamespace(**initializers.FACTORIES, Initializer=initializers.Initializer)
regularizers_ns = SimpleNamespace(l1=regularizers.l1, l2=regularizers.l2, l1l2=regularizers.l1l2)
constraints_ns = SimpleNamespace(**constraints.FACTORIES)
data_ns = SimpleNamespace(**DATA)
serialization_ns = SimpleNamespace(registerClass=serialization.registerClass,
                                   Serializable=serialization.Serializable)

train = SimpleNamespace(**optimizers.FACTORIES, Optimizer=optimizers.Optimizer)
losses_ns = SimpleNamespace(**losses.TF_LOSSES)
metrics_ns = SimpleNamespace(**metrics.TF_METRICS)
callbacks_ns = SimpleNamespace(earlyStopping=callbacks.earlyStopping)
models_ns = SimpleNamespace(modelFromJSON=io.modelFromJSON)
io_ns = SimpleNamespace(
    fromMemory=io.fromMemory, fromMemorySync=io.fromMemorySync,
    withSaveHandler=io.withSaveHandler, withSaveHandlerSync=io.withSaveHandlerSync,
    fileSystem=io.FileSystemHandler, http=io.HTTPHandler, browserHTTPRequest=io.HTTPHandler,
    encodeWeights=io.encodeWeights, decodeWeights=io.decodeWeights,
    getLoadHandlers=io.getLoadHandlers, getSaveHandlers=io.getSaveHandlers,
    registerLoadRouter=io.registerLoadRouter, registerSaveRouter=io.registerSaveRouter,
    ModelFormatError=io.ModelFormatError, UnsupportedModelError=io.UnsupportedModelError,
    WeightsError=io.WeightsError, UnsafePathError=io.UnsafePathError,
    ModelFileNotFoundError=io.ModelFileNotFoundError, ModelIOError=io.ModelIOError,
    MissingDependencyError=io.MissingDependencyError)

NAMESPACE = {
    **OPS,
    "layers": layers,
    "initializers": initializers_ns,
    "regularizers": regularizers_ns,
    "constraints": constraints_ns,
    "serialization": serialization_ns,
    "data": data_ns,
    "train": train,
    "losses": losses_ns,
    "metrics": metrics_ns,
    "callbacks": callbacks_ns,
    "Callback": callbacks.Callback,
    "CustomCallback": callbacks.CustomCallback,
    "History": callbacks.History,
    "EarlyStopping": callbacks.EarlyStopping,
    "inspect": inspect,
    "grad": gradients.grad,
    "grads": gradients.grads,
    "valueAndGrad": gradients.valueAndGrad,
    "valueAndGrads": gradients.valueAndGrads,
    "variableGrads": gradients.variableGrads,
    "models": models_ns,
    "io": io_ns,
    "loadLayersModel": io.loadLayersModel,
    "sequential": sequential,
    "loadCompiled": aot.loadCompiled,
    "model": model,
    "input": input,
    "LayersModel": LayersModel,
    "Sequential": Sequential,
    "SymbolicTensor": SymbolicTensor,
    "InputSpec": InputSpec,
    "RNN": RNN,
    "InputLayer": InputLayer,
    "Layer": Layer,
    "LayerVariable": LayerVariable,
}
