"""An int8 Inception on CPU (fbgemm) against exact and fast mode: speed and deviation, one process.

The experiment behind docs/performance.md's "int8 on CPUs without bf16" (issue 16). The int8 network
lives here, not in the extractor, because it failed the accuracy bar (FID within 1 % of exact).
It is built from the folded network of ``gan_eval_plugins/inception/fast.py``:

* weights per output channel, symmetric: 7 bits (−63..63) by default. fbgemm's AVX2 kernels add
  pairs of u8×s8 products in int16 with saturation, so 8-bit weights with 8-bit activations can
  overflow (measured: a 3×3×64 sum of 255×127 came out at half its value); ``--bits 7,8`` (default)
  and ``8,7`` cannot, ``8,8`` can where two large products meet. ``--bias-correction`` subtracts
  from each bias the mean output shift that the rounded weights cause on the calibration set's
  inputs (bias correction, Nagel et al. 2019);
* activations per tensor, quint8, zero point 0 (each is a ReLU output); the input in [−1, 1] with
  scale 1/128 and zero point 128 (1/64 and 64 with 7-bit activations) (exact for the ``tf1`` profile's (x − 128)/128 of integer pixels);
* each convolution's output range is fixed once from a seeded synthetic calibration set (16 images:
  smooth colour fields, noise, upsampled small images, dark backgrounds with bright strokes), so
  it depends on the weights only, never on the scored images or their order: ``--clip max`` takes
  the set's maximum, ``--clip mse`` the range minimising the expected squared quantization error;
* outputs joined by one ``torch.cat`` share a scale (the largest), as do a reduction block's input
  and output (its max-pool branch passes the input through); pool3 and the logits are float32.

Timing: ``--n`` images decoded once from 32×32 PNGs, then the extractor pass (preprocessing to
299×299 and the network, calls of 8 as the engine makes on a CPU) for exact, fast and int8 in
interleaved rounds in this process; medians as images/s and ratios. Deviation: ``--digits`` MNIST-5k
test digits against as many training digits (``dataset:mnist5k``), FID, IS (one split) and KID
(100 subsets) from each mode's features, relative to exact, and the largest pool3 deviation
relative to each image's largest exact feature; ``--ablation`` adds int8 weights alone and int8
activations alone (float kernels, the other part unrounded). Stand-in weights (the standard file is absent).
Usage: ``OMP_NUM_THREADS=2 .venv/bin/python benchmarks/inception_int8.py [--n 64] [--rounds 3] [--digits 100]``
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
import warnings
from contextlib import contextmanager
from pathlib import Path

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))

from gan_eval_plugins.inception.fast import folded  # noqa: E402
from gan_eval_plugins.inception.network import ConvBN, MixedA, MixedC, MixedE, ReductionA, ReductionB, TFInceptionV3  # noqa: E402
from gan_eval_plugins.inception.pooling import max_pool_3x3  # noqa: E402

WEIGHT_QMAX, ACT_QMAX = 63, 255  # set by --bits
INPUT_SCALE, INPUT_ZERO_POINT = 1.0 / 128, 128
BIAS_CORRECTION = False
SAMPLES_PER_CALL = 1 << 14
BLOCKS = ("Mixed_5b", "Mixed_5c", "Mixed_5d", "Mixed_6a", "Mixed_6b", "Mixed_6c", "Mixed_6d", "Mixed_6e", "Mixed_7a", "Mixed_7b", "Mixed_7c")


@contextmanager
def quiet():
    """torch's quantized tensors warn that they are deprecated (torch.ao gives way to torchao)."""
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=r".*(quantiz|cat operator must share).*")
        yield


class QuantConvReLU(nn.Module):
    """A folded ConvBN: float while calibrating (records its outputs), int8 after :meth:`quantize`."""

    def __init__(self, block: ConvBN):
        super().__init__()
        with torch.no_grad():
            weight, bias = folded(block)
        self.weight, self.bias = weight.contiguous(memory_format=torch.channels_last), bias
        self.stride, self.padding = list(block.conv.stride), list(block.conv.padding)
        self.observed_max, self.samples = 0.0, []
        self.input_sum, self.input_count = torch.zeros(()), 0
        self.scale, self.packed = None, None
        self.emulate = ""  # "weights" or "activations": float kernels, only that part rounded to int8

    def forward(self, x):
        if self.emulate:
            return self.emulated(x)
        if self.packed is not None:
            return torch.ops.quantized.conv2d_relu(x, self.packed, self.scale, 0)
        out = F.relu(F.conv2d(x, self.weight, self.bias, self.stride, self.padding))
        self.observed_max = max(self.observed_max, float(out.max()))
        self.input_sum = self.input_sum + x.double().sum((0, 2, 3))
        self.input_count += x.shape[0] * x.shape[2] * x.shape[3]
        flat = out.reshape(-1)
        self.samples.append(flat[:: max(1, flat.numel() // SAMPLES_PER_CALL)].double())
        return out

    def clip(self, how: str) -> float:
        if how == "max":
            return self.observed_max
        values = torch.cat(self.samples)
        cs = torch.linspace(0.2, 1.0, 81, dtype=torch.float64) * self.observed_max
        err = (values[None, :] - cs[:, None]).clamp_min(0).pow(2).sum(1) + len(values) * (cs / ACT_QMAX) ** 2 / 12
        return float(cs[int(err.argmin())])

    def emulated(self, x):
        """Float convolution with only the weights, or only the output, rounded as int8 would."""
        if self.emulate == "weights":
            return F.relu(F.conv2d(x, self.packed.unpack()[0].dequantize(), self.packed.unpack()[1], self.stride, self.padding))
        out = F.relu(F.conv2d(x, self.weight, self.bias, self.stride, self.padding))
        return torch.fake_quantize_per_tensor_affine(out, self.scale, 0, 0, 255)  # clamps at 255 as the kernel does

    def quantize(self, scale: float) -> None:
        amax = self.weight.abs().amax(dim=(1, 2, 3)).double().clamp_min(1e-12)
        with quiet():
            weight = torch.quantize_per_channel(self.weight, amax / WEIGHT_QMAX, torch.zeros(len(amax), dtype=torch.long), 0, torch.qint8)
            bias = self.bias
            if BIAS_CORRECTION:  # remove the mean output shift the rounded weights cause on the calibration set
                mean_input = (self.input_sum / self.input_count).float()
                bias = bias - (weight.dequantize() - self.weight).sum((2, 3)) @ mean_input
            self.packed = torch.ops.quantized.conv2d_prepack(weight, bias, self.stride, self.padding, [1, 1], 1)
        self.scale = float(scale)


class QuantizedInception(nn.Module):
    """(pool3, unbiased logits) from a float N×3×299×299 input, the convolutions in int8."""

    def __init__(self, network: TFInceptionV3):
        super().__init__()
        for parent in list(network.modules()):
            for name, child in list(parent.named_children()):
                if isinstance(child, ConvBN):
                    parent.add_module(name, QuantConvReLU(child))
        self.network, self.quantized = network, False

    def trunk(self, x):
        net = self.network
        x = max_pool_3x3(net.Conv2d_2b_3x3(net.Conv2d_2a_3x3(net.Conv2d_1a_3x3(x))), stride=2)
        x = max_pool_3x3(net.Conv2d_4a_3x3(net.Conv2d_3b_1x1(x)), stride=2)
        for name in BLOCKS:
            x = getattr(net, name)(x)
        return x

    def emulate(self, what: str) -> "QuantizedInception":
        """Float network with int8 rounding of ``what`` only ("weights" or "activations", the
        input included): which of the two the deviation comes from."""
        for m in self.network.modules():
            if isinstance(m, QuantConvReLU):
                m.emulate = what
        self.quantized = False
        self.emulated_input = what == "activations"
        return self

    def forward(self, x):
        if getattr(self, "emulated_input", False):
            x = torch.fake_quantize_per_tensor_affine(x.float(), INPUT_SCALE, INPUT_ZERO_POINT, 0, ACT_QMAX)
        if self.quantized:
            with quiet():
                q = torch.quantize_per_tensor(x.float(), INPUT_SCALE, INPUT_ZERO_POINT, torch.quint8)
                x = self.trunk(q.contiguous(memory_format=torch.channels_last)).dequantize()
        else:
            x = self.trunk(x.float().contiguous(memory_format=torch.channels_last))
        pool = torch.flatten(F.adaptive_avg_pool2d(x, (1, 1)), 1)
        return pool, self.network.unbiased_logits(pool)

    @torch.inference_mode()
    def calibrate(self, images: torch.Tensor, how: str) -> None:
        for start in range(0, len(images), 4):
            self.trunk(images[start : start + 4].contiguous(memory_format=torch.channels_last))
        convs = {m: m.clip(how) for m in self.network.modules() if isinstance(m, QuantConvReLU)}
        for group in shared_scale_groups(self.network):
            shared = max(convs[m] for m in group)
            for m in group:
                convs[m] = shared
        for module, peak in convs.items():
            module.quantize(max(peak, 1e-6) / ACT_QMAX)
            module.samples = []
        self.quantized = True


def cat_inputs(block: nn.Module) -> list[QuantConvReLU]:
    names = {
        MixedA: ("branch1x1", "branch5x5_2", "branch3x3dbl_3", "branch_pool"),
        ReductionA: ("branch3x3", "branch3x3dbl_3"),
        MixedC: ("branch1x1", "branch7x7_3", "branch7x7dbl_5", "branch_pool"),
        ReductionB: ("branch3x3_2", "branch7x7x3_4"),
        MixedE: ("branch1x1", "branch3x3_2a", "branch3x3_2b", "branch3x3dbl_3a", "branch3x3dbl_3b", "branch_pool"),
    }[type(block)]
    return [getattr(block, name) for name in names]


def shared_scale_groups(net: TFInceptionV3) -> list[list[QuantConvReLU]]:
    groups: list[list[QuantConvReLU]] = []
    for name in BLOCKS:
        block = getattr(net, name)
        if isinstance(block, (ReductionA, ReductionB)):
            groups[-1].extend(cat_inputs(block))
        else:
            groups.append(cat_inputs(block))
    return groups


def calibration_images(n: int = 16, seed: int = 0) -> torch.Tensor:
    """Fixed and seeded: half the stand-in's varied fields, half dark backgrounds with bright strokes."""
    from gan_eval_plugins.inception.standin import calibration_images as varied

    generator = torch.Generator().manual_seed(seed)
    half = n // 2
    canvas = torch.zeros((half, 1, 28, 28))
    fields = varied(n - half, generator)
    for i in range(half):
        for _ in range(3):
            r, c, h, w = (int(v) for v in torch.randint(0, 20, (4,), generator=generator))
            canvas[i, 0, r : r + 2 + h % 6, c : c + 2 + w % 6] = 1.0
    colour = torch.rand((half, 3, 1, 1), generator=generator) * 0.5 + 0.5
    strokes = F.interpolate(canvas * colour, size=(299, 299), mode="bilinear", align_corners=False) * 2 - 1
    return torch.cat([fields, strokes.clamp(-1, 1)])


class Int8Extractor:
    """The exact extractor's preprocessing, then the int8 network (same call and outputs)."""

    def __init__(self, exact, weights: str, how: str, emulate: str = ""):
        from gan_eval_plugins.inception import weights as weights_mod

        network = TFInceptionV3()
        network.load_state_dict(weights_mod.load_state_dict(weights, network.state_dict()), strict=False)
        self.preprocess = exact.preprocess
        self.network = QuantizedInception(network.requires_grad_(False).eval())
        self.network.calibrate(calibration_images(), how)
        if emulate:
            self.network.emulate(emulate)

    def __call__(self, images):
        with torch.inference_mode():
            pool, logits = self.network(self.preprocess(images, torch.float32))
        return {"features": pool, "logits": logits}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def extract(extractor, images: torch.Tensor, chunk: int = 8) -> dict[str, torch.Tensor]:
    parts = [extractor(images[i : i + chunk]) for i in range(0, len(images), chunk)]
    return {k: torch.cat([p[k] for p in parts]).double() for k in ("features", "logits")}


def png_images(n: int, work: Path) -> torch.Tensor:
    from PIL import Image

    from end_to_end import write_folder

    folder = write_folder(work / f"png-{n}", n, seed=1)
    arrays = [np.asarray(Image.open(p).convert("RGB")) for p in sorted(folder.iterdir())]
    return torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).contiguous()


def digits(split: str, n: int, step: int) -> torch.Tensor:
    from gan_eval_plugins.sources.datasets import load_dataset

    images, _ = load_dataset("mnist5k", split)
    picked = images[: n * step : step]
    rgb = np.repeat(picked[:, None], 3, axis=1) if picked.ndim == 3 else picked.transpose(0, 3, 1, 2)
    return torch.from_numpy(np.ascontiguousarray(rgb))


def scores(generated: dict, reference: dict) -> dict[str, float]:
    from gan_eval_plugins.fid import frechet_distance
    from gan_eval_plugins.kid import kernel_distance

    g, r = generated["features"].numpy(), reference["features"].numpy()
    fid = frechet_distance(g.mean(0), np.cov(g, rowvar=False), r.mean(0), np.cov(r, rowvar=False))
    p = torch.softmax(generated["logits"], 1)
    inception_score = float((p * (p.log() - p.mean(0, keepdim=True).log())).sum(1).mean().exp())
    kid = kernel_distance(generated["features"].float(), reference["features"].float(), subsets=100, subset_size=min(len(g), 1000))[0]
    return {"fid": fid, "is": inception_score, "kid": kid}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=64, help="images timed per round and mode")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--digits", type=int, default=100, help="MNIST-5k digits per side for the deviation (0: skip)")
    parser.add_argument("--ablation", action="store_true", help="also the deviation of int8 weights alone and int8 activations alone (float kernels)")
    parser.add_argument(
        "--bits",
        choices=("7,8", "8,7", "8,8"),
        default="7,8",
        help="weight,activation bits: 7,8 and 8,7 cannot saturate fbgemm's int16 pair sums; 8,8 can (silently, where two large products meet)",
    )
    parser.add_argument(
        "--bias-correction", action="store_true", help="correct each bias for the mean shift of the rounded weights (calibration-set input means)"
    )
    parser.add_argument("--clip", choices=("max", "mse"), default="max", help="how each activation range is taken from the calibration set")
    args = parser.parse_args()
    global WEIGHT_QMAX, ACT_QMAX, INPUT_SCALE, INPUT_ZERO_POINT, BIAS_CORRECTION
    WEIGHT_QMAX, ACT_QMAX, INPUT_SCALE, INPUT_ZERO_POINT = {"7,8": (63, 255, 1 / 128, 128), "8,7": (127, 127, 1 / 64, 64), "8,8": (127, 255, 1 / 128, 128)}[
        args.bits
    ]
    BIAS_CORRECTION = args.bias_correction
    from gan_eval_plugins.inception import InceptionExtractor, standin_weights_file

    print(f"load average at start: {open('/proc/loadavg').read().strip()}; torch threads {torch.get_num_threads()}", flush=True)
    work = Path(tempfile.mkdtemp(prefix="gan-eval-int8-"))
    weights = str(standin_weights_file(work))
    exact = InceptionExtractor("cpu", weights=weights, allow_nonstandard=True)
    fast = InceptionExtractor("cpu", weights=weights, allow_nonstandard=True, fuse=True, channels_last=True)
    start = time.perf_counter()
    int8 = Int8Extractor(exact, weights, args.clip)
    print(f"int8 network built and calibrated in {time.perf_counter() - start:.1f} s (once per extractor)", flush=True)
    modes = {"exact": exact, "fast": fast, "int8": int8}

    images = png_images(args.n, work)
    for extractor in modes.values():
        extract(extractor, images[:8])  # warm-up: oneDNN/fbgemm pick their kernels
    wall: dict[str, list[float]] = {m: [] for m in modes}
    cpu: dict[str, list[float]] = {m: [] for m in modes}
    for round_ in range(args.rounds):
        for mode, extractor in modes.items():
            c0, t0 = cpu_seconds(), time.perf_counter()
            extract(extractor, images)
            wall[mode].append(time.perf_counter() - t0)
            cpu[mode].append(cpu_seconds() - c0)
            print(f"round {round_ + 1} {mode:5s} {wall[mode][-1]:7.2f} s wall {cpu[mode][-1]:7.2f} s CPU", flush=True)
    print(f"\n{args.n} images (32×32 PNG → 299×299), calls of 8, median of {args.rounds} interleaved rounds")
    for label, clock in (("wall", wall), ("CPU time", cpu)):
        seconds = {m: statistics.median(v) for m, v in clock.items()}
        rates = ", ".join(f"{m} {args.n / s:.2f}" for m, s in seconds.items())
        print(
            f"by {label}: images/s {rates}; fast/exact {seconds['exact'] / seconds['fast']:.2f}x, "
            f"int8/exact {seconds['exact'] / seconds['int8']:.2f}x, int8/fast {seconds['fast'] / seconds['int8']:.2f}x"
        )

    if args.digits:
        generated, reference = digits("test", args.digits, 5), digits("train", args.digits, 7)
        if args.ablation:
            modes["int8-weights-only"] = Int8Extractor(exact, weights, args.clip, "weights")
            modes["int8-activations-only"] = Int8Extractor(exact, weights, args.clip, "activations")
        outputs = {m: (extract(e, generated), extract(e, reference)) for m, e in modes.items()}
        values = {m: scores(*o) for m, o in outputs.items()}
        print(
            f"\ndeviation from exact on real digits, {args.digits} MNIST-5k test vs {args.digits} train (stand-in weights, clip={args.clip}, weight,activation bits {args.bits}, bias correction {args.bias_correction}):"
        )
        for mode in [m for m in modes if m != "exact"]:
            deviations = []
            for name in ("fid", "is", "kid"):
                a, b = values[mode][name], values["exact"][name]
                deviations.append(f"{name.upper()} {a:.6g} vs {b:.6g} ({abs(a - b) / abs(b):.2e})")
            features = [(o["features"], e["features"]) for o, e in zip(outputs[mode], outputs["exact"])]
            worst = max(float(((f - x).abs().amax(1) / x.abs().amax(1)).max()) for f, x in features)
            norm = max(float((f - x).norm() / x.norm()) for f, x in features)
            print(f"{mode} {'; '.join(deviations)}; pool3 max {worst:.2e}, norm {norm:.2e} relative")
    print(f"load average at end: {open('/proc/loadavg').read().strip()}")


if __name__ == "__main__":
    main()
