"""Score a generator every N steps inside a training loop and keep the best checkpoint.

Run by tests/test_python_api.py (with a tiny generator and few steps); docs/python-api.md explains it.
"""

from __future__ import annotations

import copy

import torch

import gan_eval


def train(generator: torch.nn.Module, steps: int = 30, every: int = 10, latent: int = 16, num: int = 128) -> tuple[float, dict]:
    optimizer = torch.optim.Adam(generator.parameters(), lr=1e-3)
    evaluator = gan_eval.Evaluator(["fid@mnist-cnn"], reference="dataset:mnist5k:train", limit_ref=512)
    fixed = torch.randn(num, latent, generator=torch.Generator().manual_seed(0))  # same latents every time
    best, best_state = float("inf"), None
    for step in range(1, steps + 1):
        loss = generator(torch.randn(64, latent)).pow(2).mean()  # stand-in for the GAN losses
        optimizer.zero_grad()
        loss.backward()
        optimizer.step()
        if step % every == 0:
            evaluator.reset()
            with torch.no_grad():
                for z in fixed.split(64):
                    evaluator.update(generator(z))  # float in [-1, 1], N×1×28×28
            fid = evaluator.compute()["fid@mnist-cnn"]["fid"]
            if fid < best:
                best, best_state = fid, copy.deepcopy(generator.state_dict())
    return best, best_state


class TinyGenerator(torch.nn.Module):
    def __init__(self, latent: int = 16):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(latent, 28 * 28), torch.nn.Tanh())

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.net(z).view(-1, 1, 28, 28)


if __name__ == "__main__":
    torch.manual_seed(0)
    best, _ = train(TinyGenerator())
    print(f"best FID {best:.3f}")
