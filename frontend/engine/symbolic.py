"""Symbolic tensors and the nodes that connect layers into a graph.

A SymbolicTensor is a placeholder with a shape (None for the batch axis) and a dtype; it
records which layer application (Node) produced it. Calling a layer on SymbolicTensors adds a
Node; a model is the graph of Nodes between its input and output SymbolicTensors.
"""
from __future__ import annotations

import itertools
import math

_ids = itertools.count()


class SymbolicTensor:
    __slots__ = ("dtype", "shape", "sourceLayer", "inputs", "callArgs", "outputTensorIndex",
                 "id", "name", "originalName", "nodeIndex", "tensorIndex", "__weakref__")

    def __init__(self, dtype, shape, sourceLayer, inputs, callArgs, name=None,
                 outputTensorIndex=None):
        from kiln.frontend.engine.naming import unique_tensor_name

        self.dtype = dtype
        self.shape = list(shape)
        self.sourceLayer = sourceLayer
        self.inputs = inputs
        self.callArgs = callArgs
        self.outputTensorIndex = outputTensorIndex
        self.id = next(_ids)
        if name is not None:
            self.originalName = name
            self.name = unique_tensor_name(name)
        else:
            self.originalName = self.name = None
        self.nodeIndex = 0
        self.tensorIndex = 0

    @property
    def rank(self) -> int:
        return len(self.shape)

    @property
    def size(self):
        return None if any(d is None for d in self.shape) else math.prod(self.shape)

    def __repr__(self):
        layer = self.sourceLayer.name if self.sourceLayer is not None else "?"
        return f"SymbolicTensor({self.name or layer}, shape={self.shape}, dtype={self.dtype})"

    __hash__ = object.__hash__


class Node:
    """One application of a layer: which symbolic tensors went in and came out."""

    def __init__(self, outboundLayer, inboundLayers, nodeIndices, tensorIndices, inputTensors,
                 outputTensors, inputShapes, outputShapes, callArgs=None):
        self.outboundLayer = outboundLayer
        self.inboundLayers = inboundLayers
        self.nodeIndices = nodeIndices
        self.tensorIndices = tensorIndices
        self.inputTensors = inputTensors
        self.outputTensors = outputTensors
        self.inputShapes = inputShapes
        self.outputShapes = outputShapes
        self.callArgs = callArgs or {}
        for layer in inboundLayers:
            if layer is not None:
                layer.outboundNodes.append(self)
        outboundLayer.inboundNodes.append(self)
