"""Encoding images through an :class:`~.embedding_cache.EmbeddingCache`.

``cached_encode(model, image, cache)`` is ``model.encode_image(image)`` that looks in the cache
first; ``cached_frame_features`` gives the SAM v2 tracker a frame's features the same way. What is
stored is what the image encoder makes, before anything a use adds to it, so one entry serves a
click in napari, the automatic masks and propagation alike:

- SAM v1: the image embedding (1, 256, 64, 64) at the official input;
- SAM v2 / v2.1: the image embedding *without* the "no memory" embedding (the image predictor
  adds it, a tracked frame fuses memories instead), and the two projected finer levels. The
  position encoding depends on the grid's size only and is made again on use.

Either way the result is bit for bit what the model computes without a cache.
"""

from dataclasses import dataclass

import numpy as np
import torch

from ..models.image_input import to_uint8_rgb
from ..models.image_region import ImageRegion
from ..models.segment_anything_model import ImageEncoding
from ..models.v1.model import resized_shape
from ..models.v2.input_size import input_size_for
from ..models.v2.sam_v2 import SamV2ImageFeatures
from .embedding_cache import EmbeddingCache
from .embedding_cache_keys import EmbeddingKey, model_digest, pixels_digest

FEATURES = "features_bchw"
HIGH_RES = ("high_res_0_bchw", "high_res_1_bchw")


@dataclass(frozen=True)
class EncoderInput:
    """What ``encode_image(image, region)`` feeds the image encoder, and the key of its encoding.

    rgb: (h, w, 3) uint8, the image or its region. region: where ``rgb`` lies in the image (None:
    it is the image). key: the :class:`EmbeddingKey` of its encoding by the model.
    """

    rgb: np.ndarray
    region: ImageRegion | None
    key: EmbeddingKey


def encoder_input(model, image, region=None) -> EncoderInput:
    """The pixels of ``image`` (or of its ``region``) that ``model`` would encode, and their key,
    made once: look the key up in a cache, then :func:`encode_through_cache` them."""
    rgb = to_uint8_rgb(image)
    area = None if region is None else ImageRegion.within(region, rgb.shape[:2])
    if area is not None:
        rgb = area.crop(rgb)
    if model.version == "v1":
        key = embedding_key(model, rgb, "float32", resized_shape(*rgb.shape[:2], model.input_side))
    else:
        key = embedding_key(model, rgb, _precision(model.use_bfloat16), v2_input_size(model, rgb.shape[:2]))
    return EncoderInput(rgb, area, key)


def cached_encode(model, image, cache: EmbeddingCache, region=None) -> ImageEncoding:
    """``model.encode_image(image, region)``, from ``cache`` when it holds the encoding of these
    pixels by this model at this input size (and put there otherwise). ``image`` and ``region``
    as ``encode_image`` takes them; a region's entry is that of its pixels, wherever they lie."""
    return encode_through_cache(model, encoder_input(model, image, region), cache)


@torch.inference_mode()
def encode_through_cache(model, seen: EncoderInput, cache: EmbeddingCache) -> ImageEncoding:
    """:func:`cached_encode` of pixels already prepared by :func:`encoder_input`."""
    image_hw = seen.rgb.shape[:2]
    if model.version == "v1":
        tensors = cache.get(seen.key, (FEATURES,), model.device)
        if tensors is not None:
            encoding = ImageEncoding(tensors[FEATURES], None, image_hw, seen.key.input_hw)
        else:
            encoding = _encode_v1(model, seen, cache)
    else:
        features = _v2_features(model, seen.rgb, seen.key, cache)
        # As the image predictor: a single image is a frame with no memory to attend to.
        embedding_bchw = features.features_bchw + model.network.no_mem_embed.view(1, -1, 1, 1)
        encoding = ImageEncoding(embedding_bchw, features.high_res_features, image_hw, seen.key.input_hw)
    encoding.region = seen.region
    return encoding


@torch.inference_mode()
def encode_into_cache(model, images, cache: EmbeddingCache) -> int:
    """Puts the encodings of those ``images`` that ``cache`` lacks into it; returns how many were
    encoded. Used to encode planes ahead of the user.

    Each image is encoded on its own, as a click would encode it: a pass over several images
    (``model.encode_images``) can round differently, by a step in float32 and more in bfloat16, so
    an entry made ahead would not be bit for bit the encoding the user would otherwise get. Each
    is encoded at the precision its key names, which napari's bfloat16 box may change meanwhile."""
    encoded = 0
    for image in images:
        seen = encoder_input(model, image)
        if seen.key in cache:
            continue
        if model.version == "v1":
            _encode_v1(model, seen, cache)
        else:
            _encode_v2(model, seen.rgb, seen.key, cache)
        encoded += 1
    return encoded


@torch.inference_mode()
def cached_frame_features(
    model, frame, input_hw: tuple[int, int], cache: EmbeddingCache | None, bfloat16: bool = False
) -> SamV2ImageFeatures:
    """A SAM v2 model's float32 features of one frame ((H, W) or (H, W, 3), any dtype) resized to
    ``input_hw``, as the tracker uses them, from ``cache`` when it holds them (always encoded
    without a cache); ``bfloat16``: encoded under bfloat16 autocast (and cached apart)."""
    rgb = to_uint8_rgb(frame)
    if cache is None:
        return model.encode_features([rgb], tuple(input_hw), bfloat16)
    return _v2_features(model, rgb, embedding_key(model, rgb, _precision(bfloat16), input_hw), cache)


def v2_input_size(model, image_hw: tuple[int, int]) -> tuple[int, int]:
    """The (h, w) a SAM v2 model resizes an image of ``image_hw`` to, under its ``input_size``."""
    return input_size_for(model.input_size, image_hw, model.network.arch.image_encoder.input_size_multiple)


def embedding_key(model, rgb_hw3, precision: str, input_hw: tuple[int, int]) -> EmbeddingKey:
    return EmbeddingKey(pixels_digest(rgb_hw3), model_digest(model), precision, tuple(int(side) for side in input_hw))


def _precision(bfloat16: bool) -> str:
    return "bfloat16" if bfloat16 else "float32"


def _v2_features(model, rgb_hw3, key: EmbeddingKey, cache: EmbeddingCache) -> SamV2ImageFeatures:
    """The features under ``key`` in ``cache``, or encoded as the key says and put there."""
    network = model.network
    names = (FEATURES, *HIGH_RES) if network.arch.use_high_res_features_in_sam else (FEATURES,)
    tensors = cache.get(key, names, model.device)
    if tensors is not None:
        features_bchw = tensors[FEATURES]
        high_res = tuple(tensors[name] for name in HIGH_RES) if len(names) > 1 else None
        return SamV2ImageFeatures(features_bchw, network.image_encoder.neck.position_encoding(features_bchw), high_res)
    return _encode_v2(model, rgb_hw3, key, cache)


def _encode_v1(model, seen: EncoderInput, cache: EmbeddingCache) -> ImageEncoding:
    """A SAM v1 model's encoding of ``seen``, put into ``cache`` without looking there first."""
    encoding = model.encode_image(seen.rgb)
    cache.put(seen.key, {FEATURES: encoding.features_bchw})
    return encoding


def _encode_v2(model, rgb_hw3, key: EmbeddingKey, cache: EmbeddingCache) -> SamV2ImageFeatures:
    """A SAM v2 model's features of ``rgb_hw3`` encoded as ``key`` says, put into ``cache``
    without looking there first."""
    features = model.encode_features([rgb_hw3], key.input_hw, key.precision == "bfloat16")
    cache.put(key, _v2_entry(features))
    return features


def _v2_entry(features: SamV2ImageFeatures) -> dict[str, torch.Tensor]:
    """The tensors stored for the features of one image."""
    entry = {FEATURES: features.features_bchw}
    if features.high_res_features is not None:
        entry.update(zip(HIGH_RES, features.high_res_features))
    return entry
