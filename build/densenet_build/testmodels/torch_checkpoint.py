"""Read a PyTorch checkpoint's tensors as numpy arrays without PyTorch.

PyTorch is over 1 GB to install; reading the weights of a published checkpoint needs only its
file format. Both formats ``torch.save`` has written are handled:

- the legacy stream (before PyTorch 1.6): a pickled header, the pickled object whose storages are
  persistent ids, the list of storage keys, then each storage as ``int64 count`` + raw bytes;
- the zip archive (1.6 and later): ``*/data.pkl`` plus one ``*/data/<key>`` file per storage.

Only plain tensors in dicts/lists/tuples are rebuilt; any other class in the pickle is refused,
so a hostile checkpoint cannot run code the way ``torch.load(weights_only=False)`` would.
"""

from __future__ import annotations

import io
import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

from ..errors import BuildError

_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C

_STORAGE_DTYPES = {
    "FloatStorage": np.float32,
    "DoubleStorage": np.float64,
    "HalfStorage": np.float16,
    "LongStorage": np.int64,
    "IntStorage": np.int32,
    "ShortStorage": np.int16,
    "CharStorage": np.int8,
    "ByteStorage": np.uint8,
    "BoolStorage": np.bool_,
}


class CheckpointError(BuildError):
    """The file is not a PyTorch checkpoint this reader understands."""


class _StorageType:
    def __init__(self, dtype: type[np.generic]) -> None:
        self.dtype = np.dtype(dtype)


def _rebuild_tensor(
    storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> np.ndarray:
    if not size:
        return storage[offset : offset + 1].reshape(())
    # A view, not a copy: a legacy checkpoint's storage bytes come after the pickle (_materialize).
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(
        storage[offset:], shape=tuple(size), strides=tuple(s * itemsize for s in stride), writeable=False
    )


class _Unpickler(pickle.Unpickler):
    def __init__(self, stream: io.BufferedIOBase, load_storage: Callable[[tuple[Any, ...]], np.ndarray]):
        super().__init__(stream)
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch" and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise CheckpointError(f"refusing to unpickle {module}.{name}: only tensors are read")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and pid and pid[0] == "storage"):
            raise CheckpointError(f"unexpected persistent id {pid!r}")
        return self._load_storage(pid)


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The checkpoint's ``{name: array}`` (a ``state_dict``, or one nested under ``state_dict``)."""
    path = Path(path)
    try:
        obj = _materialize(_load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path))
    except (OSError, pickle.UnpicklingError, EOFError, struct.error, ValueError) as error:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({error})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(isinstance(v, np.ndarray) for v in obj.values()):
        raise CheckpointError(f"{path}: expected a dict of tensors")
    return dict(obj)


def _load_legacy(path: Path) -> Any:
    with open(path, "rb") as stream:
        magic = pickle.load(stream)
        if magic != _LEGACY_MAGIC:
            raise CheckpointError(f"{path}: not a PyTorch checkpoint (bad magic number)")
        pickle.load(stream)  # protocol version
        pickle.load(stream)  # system info
        storages: dict[str, np.ndarray] = {}

        def declare(pid: tuple[Any, ...]) -> np.ndarray:
            _, storage_type, key, _location, count = pid[:5]
            # Filled in place once the raw bytes, which follow the pickle, have been read.
            return storages.setdefault(key, np.empty(count, storage_type.dtype))

        obj = _Unpickler(stream, declare).load()
        for key in pickle.load(stream):
            storage = storages[key]
            (count,) = struct.unpack("<q", stream.read(8))
            data = np.frombuffer(stream.read(count * storage.dtype.itemsize), dtype=storage.dtype)
            if count != storage.size or data.size != count:
                raise CheckpointError(f"{path}: storage {key} is truncated or mis-sized")
            storage[:] = data
    return obj


def _materialize(obj: Any) -> Any:
    """Contiguous, writable copies of the tensors (they were views of their storages)."""
    if isinstance(obj, dict):
        return type(obj)((k, _materialize(v)) for k, v in obj.items())
    if isinstance(obj, list | tuple):
        return type(obj)(_materialize(v) for v in obj)
    if isinstance(obj, np.ndarray):
        return np.array(obj, copy=True, order="C")
    return obj


def _load_zip(path: Path) -> Any:
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise CheckpointError(f"{path}: zip without data.pkl")
        prefix = pickles[0][: -len("data.pkl")]

        def load(pid: tuple[Any, ...]) -> np.ndarray:
            _, storage_type, key, _location, _count = pid[:5]
            raw = archive.read(f"{prefix}data/{key}")
            return np.frombuffer(raw, dtype=storage_type.dtype)

        with archive.open(pickles[0]) as stream:
            return _Unpickler(stream, load).load()
