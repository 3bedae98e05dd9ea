"""Property-based fuzzing of decoding and validation: only our typed ImageError may escape, from the
Python path and from the DALI pipeline alike.

Bounded in `make test`; `make test-long` (or `LONG_TESTS=1`) runs many more examples.
"""

from __future__ import annotations

import os

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from preprocess import ImageError, PreprocessConfig, PreprocessConfigError, Preprocessor
from preprocess.dali import DaliPreprocessor
from tests.support.imagefactory import encode, gradient

EXAMPLES = 20_000 if os.environ.get("LONG_TESTS") else 300
FUZZ = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), derandomize=False
)
PREPROCESSOR = Preprocessor(PreprocessConfig(decode_threads=1, max_pixels=4_000_000))
SEEDS = [
    encode(Image.fromarray(gradient(64, 48)), "JPEG"),
    encode(Image.fromarray(gradient(64, 48)), "JPEG", progressive=True),
    encode(Image.fromarray(gradient(40, 30)), "PNG"),
    encode(Image.fromarray(gradient(40, 30)).convert("P"), "PNG", transparency=0),
    encode(Image.fromarray(gradient(40, 30)).convert("L"), "PNG"),
]


def _dali() -> DaliPreprocessor | None:
    try:
        return DaliPreprocessor(PREPROCESSOR.config, max_batch_size=1, num_threads=1)
    except PreprocessConfigError:  # DALI not installed: the Python path is fuzzed alone
        return None


DALI = _dali()  # the GPU deployment's pipeline on DALI's CPU operators, behind the same checks


def run(data: bytes) -> None:
    results = [PREPROCESSOR.process([data]).results[0]]
    if DALI is not None:
        results.append(DALI.process([data]).results[0])
    for result in results:
        if isinstance(result, ImageError):
            assert str(result), "an ImageError must say what is wrong"
        else:
            assert result.shape == (3, 224, 224)
            assert np.isfinite(result).all()


@FUZZ
@given(st.binary(max_size=4096))
def test_random_bytes(data):
    run(data)


@FUZZ
@given(
    seed=st.sampled_from(SEEDS),
    flips=st.lists(st.tuples(st.integers(0, 10_000), st.integers(1, 255)), max_size=8),
    cut=st.one_of(st.none(), st.integers(0, 10_000)),
    insert=st.one_of(st.none(), st.tuples(st.integers(0, 10_000), st.binary(min_size=1, max_size=64))),
)
def test_mutated_real_images(seed, flips, cut, insert):
    data = bytearray(seed)
    for position, xor in flips:
        data[position % len(data)] ^= xor
    if insert is not None:
        position, chunk = insert
        data[position % len(data) : position % len(data)] = chunk
    if cut is not None:
        data = data[: cut % (len(data) + 1)]
    run(bytes(data))


@FUZZ
@given(st.binary(max_size=512))
def test_any_bytes_behind_valid_magic(tail):
    for magic in (b"\xff\xd8\xff\xe0", b"\x89PNG\r\n\x1a\n"):
        run(magic + tail)
