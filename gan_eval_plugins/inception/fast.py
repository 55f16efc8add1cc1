"""Fast-mode rewrite of the Inception network: batch norm folded, convolution + ReLU as one kernel.

Exact mode never comes here. With ``fuse=true`` (set by ``--fast`` on CPUs) every ConvBN block
becomes a :class:`FusedConvReLU`:

* batch norm is folded into the convolution (weight × γ/σ, bias β − μγ/σ, computed in float64 and
  rounded once), so one pass over the activations disappears; features move by ~1e-5 relative
  because the products round differently;
* on a CPU the folded weight is reordered once into oneDNN's blocked layout and the convolution runs
  through ``torch.ops.mkldnn._convolution_pointwise`` with the ReLU fused in (the kernel torch's own
  CPU compiler emits), instead of reordering the weight on every call and running ReLU as a second
  pass. Its outputs are bit-identical to ``relu(conv2d(x))`` on channels-last input (checked in
  tests/extractors/test_inception_fast.py) and it runs the 1×1 convolutions ~1.6× faster here.

bfloat16 weights and activations go through the same kernels (oneDNN's bf16 convolutions) where the
CPU has native bf16 (AVX512-BF16 / AMX: :func:`gan_eval.numerics.native_cpu_bfloat16`). Without it
oneDNN refuses bf16 and torch falls back to a slow reference convolution (10× slower than float32 on
the AVX2 EPYC this was measured on), so the prepacked path is skipped there and plain ``conv2d`` used.
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
import torch.nn.functional as F
from torch import nn

from gan_eval.numerics import native_cpu_bfloat16

from .network import ConvBN, TFInceptionV3

#: The input of one traced forward pass: every block's input shape follows from it.
TRACE_SHAPE = (1, 3, 299, 299)


def onednn_pointwise_available() -> bool:
    """torch's fused oneDNN convolution op (used by inductor on CPU) is present in this build."""
    return torch.backends.mkldnn.is_available() and hasattr(torch.ops.mkldnn, "_convolution_pointwise")


def folded(block: ConvBN) -> tuple[torch.Tensor, torch.Tensor]:
    """(weight, bias) of the convolution that equals ``block``'s conv followed by its batch norm."""
    conv, bn = block.conv, block.bn
    scale = bn.weight.double() / torch.sqrt(bn.running_var.double() + bn.eps)
    weight = conv.weight.double() * scale.view(-1, 1, 1, 1)
    bias = bn.bias.double() - bn.running_mean.double() * scale
    return weight.float(), bias.float()


class FusedConvReLU(nn.Module):
    """``relu(conv2d(x, weight, bias))`` for a folded ConvBN; prepacked for oneDNN when ``input_shape`` is given."""

    def __init__(self, weight: torch.Tensor, bias: torch.Tensor, stride: Sequence[int], padding: Sequence[int], input_shape: Sequence[int] | None = None):
        super().__init__()
        self.stride, self.padding = list(stride), list(padding)
        self.register_buffer("bias", bias)
        self.input_shape = None if input_shape is None else list(input_shape)
        self.register_buffer("weight", weight)
        self.packed: torch.Tensor | None = None

    def prepack(self) -> None:
        """Reorder the weight once into the layout oneDNN picks for ``input_shape`` (CPU only)."""
        self.packed = torch._C._nn.mkldnn_reorder_conv2d_weight(self.weight.to_mkldnn(), self.padding, self.stride, [1, 1], 1, self.input_shape)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.packed is not None and x.device.type == "cpu":
            return torch.ops.mkldnn._convolution_pointwise(x, self.packed, self.bias, self.padding, self.stride, [1, 1], 1, "relu", [None], "")
        return F.relu(F.conv2d(x, self.weight, self.bias, self.stride, self.padding), inplace=True)


def fuse_network(network: TFInceptionV3, *, device: torch.device, dtype: torch.dtype, chunk: int | None) -> TFInceptionV3:
    """``network`` (float32, CPU, eval) with every ConvBN folded, moved to ``device``/``dtype`` in
    channels-last; on a CPU that oneDNN serves in ``dtype``, each convolution is prepacked for calls of
    ``chunk`` images (other batch sizes still work: oneDNN reorders again for them)."""
    shapes = _block_input_shapes(network)
    for parent in list(network.modules()):
        for name, child in list(parent.named_children()):
            if isinstance(child, ConvBN):
                weight, bias = folded(child)
                batch = chunk or 1
                parent.add_module(name, FusedConvReLU(weight, bias, child.conv.stride, child.conv.padding, (batch, *shapes[child][1:])))
    network = network.to(device=device, dtype=dtype, memory_format=torch.channels_last)
    network.fc.float()  # the logits are pool3 × fc weight in float32 whatever the network's dtype
    for module in network.modules():
        if isinstance(module, FusedConvReLU):
            module.weight = module.weight.contiguous(memory_format=torch.channels_last)
    if device.type == "cpu" and onednn_pointwise_available() and (dtype == torch.float32 or (dtype == torch.bfloat16 and native_cpu_bfloat16())):
        for module in network.modules():
            if isinstance(module, FusedConvReLU):
                module.prepack()
    return network


def _block_input_shapes(network: TFInceptionV3) -> dict[nn.Module, tuple[int, ...]]:
    """Each ConvBN block's input shape for one 299×299 image (one traced forward pass)."""
    shapes: dict[nn.Module, tuple[int, ...]] = {}

    def record(module: nn.Module, args: tuple[torch.Tensor, ...]) -> None:
        shapes[module] = tuple(args[0].shape)

    hooks = [m.register_forward_pre_hook(record) for m in network.modules() if isinstance(m, ConvBN)]
    try:
        with torch.inference_mode():
            network.pool3(torch.zeros(TRACE_SHAPE))
    finally:
        for hook in hooks:
            hook.remove()
    return shapes
