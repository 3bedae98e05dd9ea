"""The preprocess step as an NVIDIA DALI pipeline, built from the same :class:`PreprocessConfig`.

On a GPU the pipeline decodes with nvJPEG (DALI's ``mixed`` decoder, the hardware JPEG decoder
where the GPU has one) and resizes and normalizes on the GPU, handing ``PIXELS`` to TensorRT
without a host round-trip. Without a GPU the very same definition runs DALI's CPU operators:
:func:`run_cpu` is that twin, and the tests compare it with the Python path.

DALI's decoders enforce none of our limits and fail a whole batch on one bad image, so every image
first passes the checks the Python path makes before it decodes (:func:`inspect_image`: size,
format, truncation, pixel count from the header), and a batch that DALI still cannot decode is
retried image by image: one bad image fails only its own request.

The geometry is not re-implemented here: each image's region of interest is the Python path's
:func:`source_box`, computed from its header and fed to DALI's resize, so both paths crop the same
sub-pixel box and filter it down to the output size. Like Pillow, the pipeline resizes horizontally,
rounds to 8 bits, then resizes vertically: one float pass instead put 18 % of the values one grey
level off Pillow's; two passes leave 0.25 % (tests/unit/preprocess/test_dali.py).

``nvidia.dali`` is imported only when a pipeline is built: the package works without it.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from PIL import Image

from .config import ChannelOrder, PreprocessConfig
from .decode import ImageHeader, declared_size, inspect_image, jpeg_markers_valid, strip_padding
from .errors import CorruptImageError, ImageError, PreprocessConfigError
from .pipeline import Batch, Row, warm_up_images
from .transform import source_box

# Pillow's filters and the DALI interpolation that computes the same kind of filter when it
# downscales (antialias: the filter's support grows with the scale, as Pillow's does).
DALI_INTERPOLATIONS: dict[Image.Resampling, tuple[str, bool]] = {
    Image.Resampling.NEAREST: ("INTERP_NN", False),
    Image.Resampling.BILINEAR: ("INTERP_LINEAR", True),
    Image.Resampling.BICUBIC: ("INTERP_CUBIC", True),
    Image.Resampling.LANCZOS: ("INTERP_LANCZOS3", True),
}
# Formats both our header checks and DALI's decoders know (DALI has no GIF decoder).
DALI_FORMATS = frozenset({"JPEG", "PNG", "BMP", "TIFF", "WEBP"})
# The pipeline's inputs besides IMAGE: per image, each resize pass's output size and source box.
PASS_INPUTS = ("WIDTH_SIZE", "WIDTH_START", "WIDTH_END", "HEIGHT_START", "HEIGHT_END")


def check_supported(config: PreprocessConfig) -> None:
    """Refuse, naming the parameter, a config the DALI pipeline cannot compute as the Python path does."""
    if config.interpolation not in DALI_INTERPOLATIONS:
        names = ", ".join(f.name.lower() for f in DALI_INTERPOLATIONS)
        raise PreprocessConfigError(
            "interpolation",
            f"'{config.interpolation.name.lower()}' has no DALI equivalent (pipeline dali: {names})",
        )
    unsupported = sorted(config.allowed_formats - DALI_FORMATS)
    if unsupported:
        raise PreprocessConfigError(
            "allowed_formats",
            f"DALI cannot decode {unsupported[0]} (pipeline dali: {', '.join(sorted(DALI_FORMATS))})",
        )


def normalization(config: PreprocessConfig) -> tuple[list[float], list[float]]:
    """mean and std in the order of the decoded channels (config values are in RGB order)."""
    order = [2, 1, 0] if config.channel_order is ChannelOrder.BGR else [0, 1, 2]
    return [config.mean[i] for i in order], [config.std[i] for i in order]


def resize_passes(header: ImageHeader, config: PreprocessConfig) -> dict[str, np.ndarray]:
    """Per image, the two resize passes over the decoded (upright) image, in DALI's (y, x) order:
    the kept columns to the output width at full height, then the kept rows to the output height."""
    left, top, right, bottom = source_box(header.width, header.height, config)
    out_w = config.output_size[1]
    values = {
        "WIDTH_SIZE": (header.height, out_w),
        "WIDTH_START": (0, left),
        "WIDTH_END": (header.height, right),
        "HEIGHT_START": (top, 0),
        "HEIGHT_END": (bottom, out_w),
    }
    return {name: np.array(value, dtype=np.float32) for name, value in values.items()}


def define_pipeline(
    config: PreprocessConfig,
    *,
    batch_size: int,
    num_threads: int,
    device_id: int | None,
    gpu_operators: bool | None = None,
) -> Any:
    """The DALI pipeline (not built): ``IMAGE`` bytes and the :func:`resize_passes` in, NCHW float32 out.

    ``device_id=None`` runs every operator on the CPU; a GPU id decodes with the ``mixed`` decoder
    and resizes and normalizes on that GPU. Nothing else differs between the two.
    ``gpu_operators`` overrides where the operators run (the GPU graph can then be serialized and
    inspected on a machine without a GPU; it cannot run there).
    """
    check_supported(config)
    try:
        import nvidia.dali.fn as fn
        import nvidia.dali.types as types
        from nvidia.dali import pipeline_def
    except ImportError:
        raise PreprocessConfigError(
            "pipeline", "'dali' needs NVIDIA DALI installed where the model runs (requirements/dali.txt)"
        ) from None
    on_gpu = device_id is not None if gpu_operators is None else gpu_operators
    device = "gpu" if on_gpu else "cpu"
    interpolation, antialias = DALI_INTERPOLATIONS[config.interpolation]
    mean, std = normalization(config)
    out_h, out_w = config.output_size
    channels = types.BGR if config.channel_order is ChannelOrder.BGR else types.RGB

    @pipeline_def(enable_conditionals=False)
    def preprocess() -> Any:
        encoded = fn.external_source(name="IMAGE", device="cpu", dtype=types.UINT8, ndim=1)
        passes = {
            name: fn.external_source(name=name, device="cpu", dtype=types.FLOAT, ndim=1)
            for name in PASS_INPUTS
        }
        images = fn.decoders.image(
            encoded, device="mixed" if on_gpu else "cpu", output_type=channels, adjust_orientation=True
        )
        filtering = {
            "interp_type": getattr(types, interpolation),
            "antialias": antialias,
            "roi_relative": False,
        }
        images = fn.resize(
            images,
            device=device,
            size=passes["WIDTH_SIZE"],
            roi_start=passes["WIDTH_START"],
            roi_end=passes["WIDTH_END"],
            **filtering,
        )
        images = fn.resize(
            images,
            device=device,
            size=[out_h, out_w],
            roi_start=passes["HEIGHT_START"],
            roi_end=passes["HEIGHT_END"],
            **filtering,
        )
        return fn.crop_mirror_normalize(
            images, device=device, mean=mean, std=std, output_layout="CHW", dtype=types.FLOAT
        )

    return preprocess(
        batch_size=batch_size,
        num_threads=max(1, num_threads),
        device_id=device_id,
        prefetch_queue_depth=1,  # a server runs one batch at a time: nothing to prefetch
        # The dynamic executor hands out outputs that DALI never reuses: a GPU batch can be passed
        # on by DLPack while the next one runs.
        exec_dynamic=True,
    )


def _gpu_stack(samples: list[Any]) -> Any:
    """One request's GPU samples → one contiguous [N, 3, H, W] ``TensorGPU`` (DLPack)."""
    from nvidia.dali.backend import TensorListGPU

    return TensorListGPU(samples, contiguous=True).as_tensor()


class DaliPreprocessor:
    """Checks each image as the Python path does, then decodes, resizes and normalizes with DALI."""

    def __init__(
        self,
        config: PreprocessConfig,
        *,
        max_batch_size: int,
        device_id: int | None = None,
        num_threads: int | None = None,
    ) -> None:
        self.config = config
        self.max_batch_size = max_batch_size
        self.device_id = device_id
        self._build: Callable[[], Any] = lambda: define_pipeline(
            config,
            batch_size=max_batch_size,
            num_threads=num_threads or config.threads,
            device_id=device_id,
        )
        self._pipe = self._rebuild()

    def _rebuild(self) -> Any:
        pipe = self._build()
        pipe.build()
        return pipe

    def process(self, rows: Sequence[Row]) -> Batch:
        """Each encoded row (zero padding allowed) → its normalized sample, or the error that refused it."""
        results: list[Any] = [None] * len(rows)
        sizes: list[tuple[int, int]] = []
        accepted = []
        for index, (checked, size) in enumerate(self.check(rows)):
            sizes.append(size)
            if isinstance(checked, ImageError):
                results[index] = checked
            else:
                accepted.append((index, *checked))
        for start in range(0, len(accepted), self.max_batch_size):
            chunk = accepted[start : start + self.max_batch_size]
            for (index, *_), sample in zip(chunk, self._decode(chunk), strict=True):
                results[index] = sample
        if self.device_id is None:
            return Batch(results, sizes=sizes)
        return Batch(results, stack=_gpu_stack, on_host=False, sizes=sizes)

    def check(
        self, rows: Sequence[Row]
    ) -> list[tuple[tuple[np.ndarray, dict[str, np.ndarray]] | ImageError, tuple[int, int]]]:
        """The CPU's share of the work: per row, the bytes and resize passes DALI needs or the
        refusal, and (encoded bytes, declared pixels or 0 if refused) as the Python pipeline measures."""
        checked: list[tuple[tuple[np.ndarray, dict[str, np.ndarray]] | ImageError, tuple[int, int]]] = []
        for row in rows:
            data = strip_padding(row)
            try:
                header = inspect_image(data, self.config)
                if header.format == "JPEG" and not jpeg_markers_valid(data):
                    raise CorruptImageError("corrupt JPEG: an unknown marker inside the image data")
            except ImageError as error:
                checked.append((error, (len(data), 0)))
                continue
            width, height = declared_size(data, header.format) or (0, 0)
            inputs = (np.frombuffer(data, dtype=np.uint8), resize_passes(header, self.config))
            checked.append((inputs, (len(data), width * height)))
        return checked

    def _decode(self, chunk: list[tuple[int, np.ndarray, dict[str, np.ndarray]]]) -> list[Any]:
        try:
            return self._run(chunk)
        except Exception:
            # DALI fails the whole batch on one image it cannot decode and does not say which;
            # rebuild (the pipeline may be left unusable) and decode one by one to find it.
            self._pipe = self._rebuild()
        samples = []
        for item in chunk:
            try:
                samples.extend(self._run([item]))
            except Exception:
                self._pipe = self._rebuild()
                samples.append(CorruptImageError("corrupt image data: the decoder cannot read it"))
        return samples

    def _run(self, chunk: list[tuple[int, np.ndarray, dict[str, np.ndarray]]]) -> list[Any]:
        inputs = {name: [passes[name] for _, _, passes in chunk] for name in PASS_INPUTS}
        (output,) = self._pipe.run(IMAGE=[image for _, image, _ in chunk], **inputs)
        if self.device_id is not None:
            return [output[i] for i in range(len(chunk))]
        batch = np.array(output.as_tensor())  # host arrays of our own, as the Python pipeline returns
        return list(batch)

    def warm_up(self) -> None:
        """Decode the warm-up images (every decoder and both batch shapes) before the model is READY."""
        rows = warm_up_images()
        results = [*self.process(rows[:1]).results, *self.process(rows).results]
        if any(isinstance(result, ImageError) for result in results):
            raise RuntimeError("the DALI pipeline cannot decode its own warm-up images")

    def close(self) -> None:
        """Drop the pipeline: DALI frees its threads and (GPU) buffers when the last reference goes."""
        self._pipe = None


def run_cpu(
    config: PreprocessConfig, encoded_images: Sequence[Row], *, batch_size: int = 32
) -> list[np.ndarray | ImageError]:
    """The GPU pipeline's definition on DALI's CPU operators: one [3, H, W] float32 array or one
    :class:`ImageError` per image, as :meth:`Preprocessor.process` returns them."""
    preprocessor = DaliPreprocessor(config, max_batch_size=max(1, min(batch_size, len(encoded_images))))
    try:
        return preprocessor.process(encoded_images).results
    finally:
        preprocessor.close()
