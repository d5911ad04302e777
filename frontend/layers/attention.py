"""multiHeadAttention: Keras's MultiHeadAttention layer (TF.js 4.x can deserialize the class
but exports no factory).

    mha = tf.layers.multiHeadAttention({'numHeads': 2, 'keyDim': 8})
    out = mha.apply([query, value])                    # or [query, value, key]
    out, scores = mha.apply([query, value], {'attentionMask': mask,
                                             'returnAttentionScores': True})

TF.js's form `mha.apply(query, {'value': v, 'key': k})` works too. Call options:
`attentionMask` (a tensor broadcastable to [B, T, S]: true/1 = may attend), `useCausalMask`,
`returnAttentionScores`, `training` (dropout on the attention probabilities).

Weights are named and shaped as Keras writes them, in Keras's order: `query/kernel`
[dim, numHeads, keyDim], `query/bias` [numHeads, keyDim], `key/...`, `value/...` (with
valueDim), `attention_output/kernel` [numHeads, valueDim, *outputShape] and
`attention_output/bias` [*outputShape] (biases only with `useBias`).

The math is Keras's: projections (EinsumDense), query scaled by 1/sqrt(keyDim), scores over
the attention axes, masked positions get -1e9 added before the softmax, dropout, weighted sum
of the values, output projection. The einsums are computed as transposes and batched matMuls.

Porting notes: TF.js requires the query and value feature sizes to match; Keras 3 and kiln do
not. The attention mask tensor is an input of the layer's graph node (TF.js keeps it in the
call options). `seed` (Keras 3, for the dropout) is accepted and serialized when set. A layer
rebuilt from a config that has queryShape/valueShape/keyShape creates its weights at once, as
TF.js's fromConfig does, so saved weights can be loaded into it.
"""
from __future__ import annotations

import math

from kiln.frontend.engine.config import REQUIRED
from kiln.frontend.engine.layer import Layer
from kiln.frontend.layers._common import (get_constraint, get_initializer, get_regularizer,
                                          serialize)
from kiln.frontend.layers.core import dropout
from kiln.frontend.ops import creation, linalg, math as m, nn, shape as s
from kiln.frontend.serialization import registerClass

LARGE_NEGATIVE = -1e9        # added to masked scores (Keras's value for float32)
ROLES_KEY = "_inputRoles"    # call option naming what each input of the graph node is


def _int_list(value):
    return [value] if isinstance(value, int) else list(value)


@registerClass
class MultiHeadAttention(Layer):
    """Multi-head dot-product attention (Vaswani et al., 2017), as Keras computes it."""

    className = "MultiHeadAttention"
    ARGS = {"numHeads": REQUIRED, "keyDim": REQUIRED, "valueDim": None, "dropout": 0.0,
            "useBias": True, "outputShape": None, "attentionAxes": None,
            "kernelInitializer": "glorotUniform", "biasInitializer": "zeros",
            "kernelRegularizer": None, "biasRegularizer": None, "activityRegularizer": None,
            "kernelConstraint": None, "biasConstraint": None,
            "queryShape": None, "keyShape": None, "valueShape": None, "seed": None}

    def __init__(self, config=None, **kwargs):
        super().__init__(config, **kwargs)
        a = self.args
        owner = self._owner()
        for key in ("numHeads", "keyDim"):
            if isinstance(a[key], bool) or not isinstance(a[key], int) or a[key] <= 0:
                raise ValueError(f"{owner}: {key} must be a positive integer, got {a[key]!r}")
        self.numHeads = a["numHeads"]
        self.keyDim = a["keyDim"]
        self.valueDim = a["valueDim"] or self.keyDim
        self.dropout = float(a["dropout"])
        if not 0 <= self.dropout <= 1:
            raise ValueError(f"{owner}: dropout must be between 0 and 1, got {a['dropout']}")
        self.useBias = bool(a["useBias"])
        self._outputShape = a["outputShape"]
        if self._outputShape is not None:
            dims = _int_list(self._outputShape)
            if not dims or any(isinstance(d, bool) or not isinstance(d, int) or d <= 0
                               for d in dims):
                raise ValueError(f"{owner}: outputShape must be a positive integer or a list "
                                 f"of them, got {self._outputShape!r}")
        axes = a["attentionAxes"]
        self.attentionAxes = None if axes is None else _int_list(axes)
        self.kernelInitializer = get_initializer(a["kernelInitializer"], owner)
        self.biasInitializer = get_initializer(a["biasInitializer"], owner)
        self.kernelRegularizer = get_regularizer(a["kernelRegularizer"], owner)
        self.biasRegularizer = get_regularizer(a["biasRegularizer"], owner)
        self.activityRegularizer = get_regularizer(a["activityRegularizer"], owner)
        self.kernelConstraint = get_constraint(a["kernelConstraint"], owner)
        self.biasConstraint = get_constraint(a["biasConstraint"], owner)
        self.seed = a["seed"]
        self.supportsMasking = True
        self.queryShape = self.keyShape = self.valueShape = None
        self._call_roles = None
        self._returning_scores = False
        shapes = (a["queryShape"], a["valueShape"], a["keyShape"])
        if all(sh is not None for sh in shapes):      # from a saved config: make the weights
            self.buildFromSignature(*shapes)

    def _owner(self):
        return f"MultiHeadAttention layer {self.name!r}"

    # ---- calling -----------------------------------------------------------------------
    def apply(self, inputs, kwargs=None):
        """apply([query, value]), apply([query, value, key]) or, as TF.js,
        apply(query, {'value': value, 'key': key}); see the module docstring."""
        kwargs = dict(kwargs or {})
        if ROLES_KEY in kwargs:            # re-applied by a model: inputs are already laid out
            tensors, roles = list(inputs), tuple(kwargs[ROLES_KEY])
        else:
            tensors, roles, kwargs = self._layout(inputs, kwargs)
        by_role = dict(zip(roles, tensors))
        if not self.built:
            key = by_role.get("key")
            self.buildFromSignature(list(by_role["query"].shape), list(by_role["value"].shape),
                                    None if key is None else list(key.shape))
            if self.initialWeights is not None:
                self.setWeights(self.initialWeights)
                self.initialWeights = None
        self._call_roles = roles
        self._returning_scores = bool(kwargs.get("returnAttentionScores"))
        try:
            return super().apply(tensors, kwargs)
        finally:
            self._call_roles = None

    def _layout(self, inputs, kwargs):
        owner = self._owner()
        if isinstance(inputs, (list, tuple)):
            if len(inputs) not in (2, 3):
                raise ValueError(f"{owner} expects [query, value] or [query, value, key]; got "
                                 f"{len(inputs)} input(s)")
            if "value" in kwargs or "key" in kwargs:
                raise ValueError(f"{owner}: pass value and key either in the input list or as "
                                 "options, not both")
            query, value = inputs[0], inputs[1]
            key = inputs[2] if len(inputs) == 3 else None
        else:
            query, value, key = inputs, kwargs.pop("value", None), kwargs.pop("key", None)
            if value is None:
                raise ValueError(f"{owner}: must pass in the `value` argument (apply([query, "
                                 "value]) or apply(query, {'value': value}))")
        mask = kwargs.pop("attentionMask", None)
        tensors, roles = [query, value], ["query", "value"]
        if key is not None:
            tensors.append(key)
            roles.append("key")
        if mask is not None:
            tensors.append(mask)
            roles.append("attentionMask")
        kwargs[ROLES_KEY] = tuple(roles)
        return tensors, tuple(roles), kwargs

    def build(self, inputShape):
        self.built = True      # built by buildFromSignature in apply()

    def buildFromSignature(self, queryShape, valueShape, keyShape=None):
        """Create the projection weights for inputs of these shapes (batch axis included)."""
        owner = self._owner()
        keyShape = valueShape if keyShape is None else keyShape
        queryShape, valueShape, keyShape = (list(queryShape), list(valueShape), list(keyShape))
        self._check_shapes(queryShape, valueShape, keyShape)
        self.queryShape, self.valueShape, self.keyShape = queryShape, valueShape, keyShape
        rank = len(queryShape)
        axes = self.attentionAxes
        if axes is None:
            axes = list(range(1, rank - 1))
        resolved = []
        for axis in axes:
            a = axis + rank if axis < 0 else axis
            if not 1 <= a <= rank - 2:
                raise ValueError(f"{owner}: attention axis {axis} must name a non-batch, "
                                 f"non-feature axis of the query shape {queryShape}")
            resolved.append(a)
        if len(set(resolved)) != len(resolved):
            raise ValueError(f"{owner}: duplicate attention axes {axes}")
        self.attentionAxes = sorted(resolved)
        out_dims = (_int_list(self._outputShape) if self._outputShape is not None
                    else [queryShape[-1]])
        self._out_dims = out_dims
        weights = []
        for name, shape, depth in (("query", queryShape, self.keyDim),
                                   ("key", keyShape, self.keyDim),
                                   ("value", valueShape, self.valueDim)):
            weights.append((name, [shape[-1], self.numHeads, depth], [self.numHeads, depth]))
        weights.append(("attention_output", [self.numHeads, self.valueDim] + out_dims, out_dims))
        self._kernels, self._biases = {}, {}
        for name, kernel_shape, bias_shape in weights:
            self._kernels[name] = self.addWeight(
                f"{name}/kernel", kernel_shape, "float32", self.kernelInitializer,
                self.kernelRegularizer, True, self.kernelConstraint)
            if self.useBias:
                self._biases[name] = self.addWeight(
                    f"{name}/bias", bias_shape, "float32", self.biasInitializer,
                    self.biasRegularizer, True, self.biasConstraint)
        self.built = True

    def _check_shapes(self, query, value, key):
        owner = self._owner()
        if len(query) < 3:
            raise ValueError(f"{owner}: the query must have rank >= 3 ([batch, ..., features]), "
                             f"got shape {query}")
        if value[1:-1] != key[1:-1] or len(value) != len(key):
            raise ValueError(f"{owner}: all dimensions of value and key, except the last one, "
                             f"must be equal; got value shape {value} and key shape {key}")
        if len(value) != len(query):
            raise ValueError(f"{owner}: query and value must have the same rank; got query "
                             f"shape {query} and value shape {value}")
        for shape in (query, value, key):
            if shape[-1] is None:
                raise ValueError(f"{owner}: the feature (last) axis of every input must be "
                                 f"known; got shape {shape}")
        if self.queryShape is not None:
            for name, want, got in (("query", self.queryShape, query),
                                    ("value", self.valueShape, value),
                                    ("key", self.keyShape, key)):
                if len(want) != len(got) or want[-1] != got[-1]:
                    raise ValueError(f"{owner} was built for a {name} of shape {want}; got "
                                     f"shape {got}")

    def _role_shapes(self, shapes):
        roles = self._call_roles or ("query", "value")
        by_role = dict(zip(roles, shapes))
        return by_role["query"], by_role["value"], by_role.get("key", by_role["value"])

    def computeOutputShape(self, inputShape):
        query, value, key = (list(x) for x in self._role_shapes(inputShape))
        self._check_shapes(query, value, key)
        out = query[:-1] + self._out_dims
        if not self._returning_scores:
            return out
        rank = len(query) + 1        # rank of the projected inputs
        projected = query[:-1] + [self.numHeads]
        batch_dims = [i for i in range(rank - 1) if i not in self.attentionAxes]
        scores = ([projected[i] for i in batch_dims] + [query[a] for a in self.attentionAxes]
                  + [value[a] for a in self.attentionAxes])
        return [out, scores]

    def computeMask(self, inputs, mask=None):
        query_mask = mask[0] if isinstance(mask, (list, tuple)) else None
        return [query_mask, None] if self._returning_scores else query_mask

    def call(self, inputs, kwargs):
        roles = kwargs.get(ROLES_KEY, ("query", "value", "key")[:len(inputs)])
        by_role = dict(zip(roles, inputs))
        query, value = by_role["query"], by_role["value"]
        key = by_role.get("key", value)
        self._check_shapes(query.shape, value.shape, key.shape)
        masks = kwargs.get("mask")
        masks = dict(zip(roles, masks)) if isinstance(masks, (list, tuple)) else {}
        attention_mask = self._attention_mask(query, value, by_role.get("attentionMask"),
                                              masks, "key" in by_role,
                                              bool(kwargs.get("useCausalMask")))
        q = self._project("query", query)
        k = self._project("key", key)
        v = self._project("value", value)
        context, scores = self._attend(q, k, v, attention_mask, bool(kwargs.get("training")))
        output = self._output_projection(context)
        return [output, scores] if kwargs.get("returnAttentionScores") else output

    # ---- the computation ---------------------------------------------------------------
    def _project(self, name, x):
        """x [..., dim] -> [..., numHeads, depth] (EinsumDense '...c,cnh->...nh' + bias)."""
        kernel = self._kernels[name].read()
        dim, heads, depth = kernel.shape
        x = m.cast(x, "float32") if x.dtype != "float32" else x
        y = linalg.matMul(s.reshape(x, [-1, dim]), s.reshape(kernel, [dim, heads * depth]))
        if name in self._biases:
            y = m.add(y, s.reshape(self._biases[name].read(), [heads * depth]))
        return s.reshape(y, x.shape[:-1] + [heads, depth])

    def _output_projection(self, x):
        """x [..., numHeads, valueDim] -> [..., *outputShape]."""
        kernel = self._kernels["attention_output"].read()
        inner = self.numHeads * self.valueDim
        width = math.prod(self._out_dims)
        y = linalg.matMul(s.reshape(x, [-1, inner]), s.reshape(kernel, [inner, width]))
        if "attention_output" in self._biases:
            y = m.add(y, s.reshape(self._biases["attention_output"].read(), [width]))
        return s.reshape(y, x.shape[:-2] + self._out_dims)

    def _attend(self, q, k, v, attention_mask, training):
        """Scaled dot-product attention of projected q [.., T.., N, H] over k, v [.., S.., N, H];
        returns (context shaped like q with valueDim, probabilities [batch dims.., T.., S..])."""
        rank = q.rank
        attn = self.attentionAxes
        batch_dims = [i for i in range(rank - 1) if i not in attn]
        order = batch_dims + attn + [rank - 1]
        for name, t in (("key", k), ("value", v)):
            if [t.shape[i] for i in batch_dims] != [q.shape[i] for i in batch_dims]:
                raise ValueError(f"{self._owner()}: the non-attention axes of the {name} "
                                 f"({[t.shape[i] for i in batch_dims]}) must match the query's "
                                 f"({[q.shape[i] for i in batch_dims]})")
        batch = math.prod(q.shape[i] for i in batch_dims)
        targets = [q.shape[a] for a in attn]
        sources = [k.shape[a] for a in attn]

        def flat(t):
            moved = linalg.transpose(t, order) if order != list(range(rank)) else t
            return s.reshape(moved, [batch, -1, t.shape[-1]])

        q = m.mul(q, 1.0 / math.sqrt(float(self.keyDim)))
        scores = linalg.matMul(flat(q), flat(k), False, True)             # [batch, T, S]
        full = [q.shape[i] for i in batch_dims] + targets + sources
        if attention_mask is not None:
            mask = m.cast(attention_mask, "float32")
            while mask.rank < len(full):
                mask = s.expandDims(mask, -2 * len(attn) - 1)
            adder = m.mul(m.sub(1.0, mask), LARGE_NEGATIVE)
            scores = s.reshape(m.add(s.reshape(scores, full), adder), [batch, math.prod(targets),
                                                                         math.prod(sources)])
        probs = nn.softmax(scores, -1)
        dropped = probs
        if training and self.dropout > 0:
            dropped = dropout(probs, self.dropout, None, self.seed)
        context = linalg.matMul(dropped, flat(v))                         # [batch, T, Hv]
        context = s.reshape(context, [q.shape[i] for i in batch_dims] + targets + [v.shape[-1]])
        inverse = [order.index(i) for i in range(rank)]
        if inverse != list(range(rank)):
            context = linalg.transpose(context, inverse)
        return context, s.reshape(probs, full)

    def _attention_mask(self, query, value, attention_mask, masks, has_key, causal):
        """The explicit mask ANDed with the inputs' Keras masks and the causal mask."""
        parts = []
        if masks.get("query") is not None:
            parts.append(s.expandDims(m.cast(masks["query"], "bool"), -1))      # [B, T, 1]
        if masks.get("value") is not None:
            parts.append(s.expandDims(m.cast(masks["value"], "bool"), -2))      # [B, 1, S]
        if has_key and masks.get("key") is not None:
            parts.append(s.expandDims(m.cast(masks["key"], "bool"), -2))
        if causal:
            rows = s.reshape(creation.range(0, query.shape[1], 1, "int32"), [query.shape[1], 1])
            cols = s.reshape(creation.range(0, value.shape[1], 1, "int32"), [1, value.shape[1]])
            parts.append(s.expandDims(m.greaterEqual(rows, cols), 0))           # [1, T, S]
        if attention_mask is not None:
            parts.insert(0, m.cast(attention_mask, "bool"))
        if not parts:
            return None
        combined = parts[0]
        for part in parts[1:]:
            combined = m.logicalAnd(combined, part)
        return combined

    # ---- configuration -----------------------------------------------------------------
    def getConfig(self):
        return {"numHeads": self.numHeads, "keyDim": self.keyDim, "valueDim": self.valueDim,
                "dropout": self.dropout, "useBias": self.useBias,
                "outputShape": self._outputShape, "attentionAxes": self.attentionAxes,
                "kernelInitializer": serialize(self.kernelInitializer),
                "biasInitializer": serialize(self.biasInitializer),
                "kernelRegularizer": serialize(self.kernelRegularizer),
                "biasRegularizer": serialize(self.biasRegularizer),
                "activityRegularizer": serialize(self.activityRegularizer),
                "kernelConstraint": serialize(self.kernelConstraint),
                "biasConstraint": serialize(self.biasConstraint),
                "queryShape": self.queryShape, "keyShape": self.keyShape,
                "valueShape": self.valueShape,
                **({"seed": self.seed} if self.seed is not None else {}),
                **super().getConfig()}
