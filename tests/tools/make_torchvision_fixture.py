"""Make the torchvision DenseNet fixture: torch's own checkpoint and outputs for the torch-free converter.

Needs torch and torchvision (``make test`` never does): run it in a separate environment, e.g.

    python3 -m venv /tmp/torchvenv
    /tmp/torchvenv/bin/pip install -r requirements/torch-fixture.txt
    /tmp/torchvenv/bin/python -m tests.tools.make_torchvision_fixture            # the committed fixture
    /tmp/torchvenv/bin/python -m tests.tools.make_torchvision_fixture --full DIR  # full DenseNet-121, once

It builds torchvision's real ``torchvision.models.DenseNet`` class (reduced to a few thin layers by
default, DenseNet-121 itself with ``--full``), gives it random weights and non-trivial batch-norm
statistics, and in eval mode writes:

- ``legacy.pth``: the state_dict in torch's legacy (pre-zip) format with the released files' legacy
  key names (``denselayerN.norm.1.weight``) and no ``num_batches_tracked``, like
  ``densenet121-a639ec97.pth``;
- ``zip.pth`` (not with ``--full``): the same weights in today's zip format and key names;
- ``expected.npz``: the seeds of the inputs, the inputs' sha256 and torch's logits for them.

The inputs are not stored (4 images would be 2.4 MB): tests/support/torchvision_fixture.py draws them from
their seeds, and their sha256 lets the tests notice if numpy ever draws them differently. That
module also compares a conversion with ``expected.npz`` without torch.
"""

from __future__ import annotations

import argparse
import re
from collections import OrderedDict
from pathlib import Path

import numpy as np
import torch
import torchvision

from tests.support.torchvision_fixture import FIXTURE_DIR, INPUT_SEEDS, inputs, inputs_sha256

SEED = 27
# Few, thin layers, yet every kind of tensor (two blocks and a transition), in about 200 KB per file.
REDUCED = {
    "growth_rate": 8,
    "block_config": (2, 3),
    "num_init_features": 16,
    "bn_size": 2,
    "num_classes": 1000,
}
# torchvision's current names -> the released files' names (the inverse of torchvision's _load_state_dict).
_NEW_KEY = re.compile(
    r"^(.*denselayer\d+\.(?:norm|relu|conv))([12])\.(weight|bias|running_mean|running_var)$"
)


def randomize(model: torch.nn.Module, generator: torch.Generator) -> None:
    """Random weights and batch-norm statistics far from the defaults (mean 0, variance 1)."""
    with torch.no_grad():
        for module in model.modules():
            if isinstance(module, torch.nn.Conv2d):
                fan_in = module.weight[0].numel()
                module.weight.normal_(0.0, (2.0 / fan_in) ** 0.5, generator=generator)
            elif isinstance(module, torch.nn.BatchNorm2d):
                channels = module.num_features
                module.weight.uniform_(0.5, 1.5, generator=generator)
                module.bias.normal_(0.0, 0.2, generator=generator)
                module.running_mean.copy_(torch.randn(channels, generator=generator) * 0.5)
                module.running_var.copy_(torch.rand(channels, generator=generator) * 1.5 + 0.5)
                module.num_batches_tracked.fill_(1234)
            elif isinstance(module, torch.nn.Linear):
                module.weight.normal_(0.0, 1.0 / module.in_features**0.5, generator=generator)
                module.bias.normal_(0.0, 0.1, generator=generator)


def legacy_names(state: OrderedDict) -> OrderedDict:
    """The state_dict as the released checkpoints name it, without num_batches_tracked (they predate it)."""
    renamed = OrderedDict(
        (_NEW_KEY.sub(r"\1.\2.\3", key), value)
        for key, value in state.items()
        if not key.endswith("num_batches_tracked")
    )
    renamed._metadata = state._metadata  # what torch.save pickles beside a state_dict (BUILD of _metadata)
    return renamed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--full", type=Path, metavar="DIR", help="DenseNet-121 itself, written to DIR (not committed)"
    )
    args = parser.parse_args()
    out = args.full or FIXTURE_DIR
    out.mkdir(parents=True, exist_ok=True)
    generator = torch.Generator().manual_seed(SEED)
    if args.full:
        model = torchvision.models.densenet121(weights=None)
    else:
        model = torchvision.models.DenseNet(**REDUCED)
    randomize(model, generator)
    model.eval()
    state = model.state_dict()
    torch.save(legacy_names(state), out / "legacy.pth", _use_new_zipfile_serialization=False)
    if not args.full:
        torch.save(state, out / "zip.pth")
    batch = inputs()
    with torch.no_grad():
        logits = model(torch.from_numpy(batch)).numpy()
    np.savez(
        out / "expected.npz",
        seeds=np.array(INPUT_SEEDS),
        inputs_sha256=np.array(inputs_sha256(batch)),
        logits=logits.astype(np.float32),
        torch_version=np.array(torch.__version__),
        torchvision_version=np.array(torchvision.__version__),
    )
    print(f"wrote {out}: logits {logits.shape}, std {logits.std():.3f}, torch {torch.__version__}")


if __name__ == "__main__":
    main()
