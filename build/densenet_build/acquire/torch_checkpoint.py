"""Read a PyTorch checkpoint's tensors as numpy arrays without PyTorch.

PyTorch is over 1 GB to install; reading the weights of a published checkpoint needs only its
file format. Both formats ``torch.save`` has written are handled:

- the legacy stream (before PyTorch 1.6): a pickled header, the pickled object whose storages are
  persistent ids, the list of storage keys, then each storage as ``int64 count`` + raw bytes;
- the zip archive (1.6 and later): ``*/data.pkl`` plus one ``*/data/<key>`` file per storage.

Only plain tensors in dicts/lists/tuples are rebuilt; any other class in the pickle is refused,
so a hostile checkpoint cannot run code the way ``torch.load(weights_only=False)`` would, and every
tensor's extent is checked against its storage, so one cannot read memory outside the file either.
"""

from __future__ import annotations

import pickle
import struct
import zipfile
from collections import OrderedDict
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

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
# What a malformed file makes numpy, struct, zipfile or pickle raise; each becomes a CheckpointError.
_FORMAT_ERRORS = (
    OSError,
    pickle.UnpicklingError,
    EOFError,
    struct.error,
    ValueError,
    TypeError,
    AttributeError,
    KeyError,
    IndexError,
    OverflowError,
    zipfile.BadZipFile,
)


class CheckpointError(BuildError):
    """The file is not a PyTorch checkpoint this reader understands."""


class _StorageType:
    """``torch.FloatStorage`` and its kin: only their element type matters here."""

    def __init__(self, dtype: type[np.generic]) -> None:
        self.dtype = np.dtype(dtype)

    def __setstate__(self, state: Any) -> None:
        # A pickle's BUILD opcode would otherwise let the file change the element type.
        raise CheckpointError("a storage type carries state; this is not torch.save output")


def _rebuild_tensor(
    storage: np.ndarray, offset: int, size: tuple[int, ...], stride: tuple[int, ...], *_: Any
) -> np.ndarray:
    if not isinstance(storage, np.ndarray):
        raise CheckpointError("a tensor without a storage")
    size, stride = tuple(size), tuple(stride)
    if len(size) != len(stride) or offset < 0 or any(n < 0 for n in size) or any(s < 0 for s in stride):
        raise CheckpointError(f"a tensor with impossible geometry (size {size}, stride {stride})")
    # as_strided does not check bounds: a tensor must lie inside its storage.
    last = offset + sum((n - 1) * s for n, s in zip(size, stride, strict=True)) if all(size) else offset - 1
    if last >= storage.size:
        raise CheckpointError(f"a tensor of size {size} reaches past its storage of {storage.size} elements")
    if not size:
        return storage[offset : offset + 1].reshape(())
    # A view, not a copy: a legacy checkpoint's storage bytes come after the pickle (_materialize).
    itemsize = storage.dtype.itemsize
    return np.lib.stride_tricks.as_strided(
        storage[offset:], shape=size, strides=tuple(s * itemsize for s in stride), writeable=False
    )


def _rebuild_parameter(data: np.ndarray, *_: Any) -> np.ndarray:
    """``torch.nn.Parameter`` (a whole module pickled rather than its state_dict): its tensor."""
    return data


class _Unpickler(pickle.Unpickler):
    def __init__(self, stream: IO[bytes], load_storage: Callable[[_StorageType, str, int], np.ndarray]):
        super().__init__(stream)
        self._load_storage = load_storage

    def find_class(self, module: str, name: str) -> Any:
        if module == "collections" and name == "OrderedDict":
            return OrderedDict
        if module == "torch._utils" and name in ("_rebuild_tensor_v2", "_rebuild_tensor"):
            return _rebuild_tensor
        if module == "torch._utils" and name == "_rebuild_parameter":
            return _rebuild_parameter
        # A checkpoint saved from a GPU names torch.cuda's storage types; the bytes are the same.
        if module in ("torch", "torch.cuda") and name in _STORAGE_DTYPES:
            return _StorageType(_STORAGE_DTYPES[name])
        raise CheckpointError(f"refusing to unpickle {module}.{name}: only tensors are read")

    def persistent_load(self, pid: Any) -> np.ndarray:
        if not (isinstance(pid, tuple) and len(pid) >= 5 and pid[0] == "storage"):
            raise CheckpointError(f"unexpected persistent id {pid!r:.100}")
        _, storage_type, key, _location, count = pid[:5]
        if not (isinstance(storage_type, _StorageType) and isinstance(key, str) and isinstance(count, int)):
            raise CheckpointError(f"unexpected persistent id {pid!r:.100}")
        storage = self._load_storage(storage_type, key, count)
        view = pid[5] if len(pid) > 5 else None
        if view is None:
            return storage
        # PyTorch < 1.0 pickled storage views as (view key, offset, size) of a root storage.
        _view_key, offset, size = view
        if offset < 0 or size < 0 or offset + size > storage.size:
            raise CheckpointError(f"storage view {view!r:.100} lies outside its storage")
        return storage[offset : offset + size]


def load_state_dict(path: str | Path) -> dict[str, np.ndarray]:
    """The checkpoint's ``{name: array}`` (a ``state_dict``, or one nested under ``state_dict``)."""
    path = Path(path)
    try:
        obj = _materialize(_load_zip(path) if zipfile.is_zipfile(path) else _load_legacy(path))
    except RecursionError:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint (nested too deeply)") from None
    except _FORMAT_ERRORS as error:
        raise CheckpointError(f"{path}: not a readable PyTorch checkpoint ({error})") from None
    if isinstance(obj, dict) and isinstance(obj.get("state_dict"), dict):
        obj = obj["state_dict"]
    if not isinstance(obj, dict) or not all(
        isinstance(k, str) and isinstance(v, np.ndarray) for k, v in obj.items()
    ):
        raise CheckpointError(f"{path}: expected a dict of named tensors")
    return dict(obj)


def _load_legacy(path: Path) -> Any:
    size = path.stat().st_size
    with open(path, "rb") as stream:
        # Every pickle of the file goes through _Unpickler: pickle.load on the headers would run
        # whatever a hostile file put there before the magic number could be checked.
        magic = _load_plain(stream)
        if magic != _LEGACY_MAGIC:
            raise CheckpointError(f"{path}: not a PyTorch checkpoint (bad magic number)")
        _load_plain(stream)  # protocol version
        _load_plain(stream)  # system info
        storages: dict[str, np.ndarray] = {}

        def declare(storage_type: _StorageType, key: str, count: int) -> np.ndarray:
            if count < 0 or count * storage_type.dtype.itemsize > size:
                raise CheckpointError(
                    f"{path}: storage {key} claims {count} elements, more than the file holds"
                )
            # Filled in place once the raw bytes, which follow the pickle, have been read.
            return storages.setdefault(key, np.empty(count, storage_type.dtype))

        obj = _Unpickler(stream, declare).load()
        keys = _load_plain(stream)
        if not isinstance(keys, list) or set(keys) != set(storages):
            raise CheckpointError(f"{path}: the storage list does not match the tensors")
        for key in keys:
            storage = storages[key]
            (count,) = struct.unpack("<q", stream.read(8))
            data = np.frombuffer(stream.read(count * storage.dtype.itemsize), dtype=storage.dtype)
            if count != storage.size or data.size != count:
                raise CheckpointError(f"{path}: storage {key} is truncated or mis-sized")
            storage[:] = data
    return obj


def _load_plain(stream: IO[bytes]) -> Any:
    """One pickle of plain values (the legacy format's headers and storage list)."""

    def no_storage(*_: Any) -> np.ndarray:
        raise CheckpointError("a storage where a header belongs")

    return _Unpickler(stream, no_storage).load()


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
    size = path.stat().st_size
    with zipfile.ZipFile(path) as archive:
        names = archive.namelist()
        pickles = [n for n in names if n.endswith("/data.pkl") or n == "data.pkl"]
        if not pickles:
            raise CheckpointError(f"{path}: zip without data.pkl")
        prefix = pickles[0][: -len("data.pkl")]

        def load(storage_type: _StorageType, key: str, count: int) -> np.ndarray:
            info = archive.getinfo(f"{prefix}data/{key}")
            # torch stores storages uncompressed: a larger entry is a zip bomb, not a checkpoint.
            if info.file_size > size:
                raise CheckpointError(f"{path}: storage {key} unpacks to more than the file's size")
            data = np.frombuffer(archive.read(info), dtype=storage_type.dtype)
            if data.size != count:
                raise CheckpointError(f"{path}: storage {key} holds {data.size} elements, not {count}")
            return data

        with archive.open(pickles[0]) as stream:
            return _Unpickler(stream, load).load()
