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

import torch

from ..models.image_input import to_uint8_rgb
from ..models.segment_anything_model import ImageEncoding
from ..models.v1.model import resized_shape
from ..models.v2.input_size import input_size_for
from ..models.v2.preprocessing import to_model_input
from ..models.v2.sam_v2 import SamV2ImageFeatures
from .embedding_cache import EmbeddingCache
from .embedding_cache_keys import EmbeddingKey, model_digest, pixels_digest

FEATURES = "features_bchw"
HIGH_RES = ("high_res_0_bchw", "high_res_1_bchw")


@torch.inference_mode()
def cached_encode(model, image, cache: EmbeddingCache) -> ImageEncoding:
    """``model.encode_image(image)``, from ``cache`` when it holds this image's encoding by this
    model at this input size (and put there otherwise). ``image`` as ``encode_image`` takes it."""
    rgb = to_uint8_rgb(image)
    image_hw = rgb.shape[:2]
    if model.version == "v1":
        input_hw = resized_shape(*image_hw, model.input_side)
        key = embedding_key(model, rgb, "float32", input_hw)
        tensors = cache.get(key, (FEATURES,), model.device)
        if tensors is not None:
            return ImageEncoding(tensors[FEATURES], None, image_hw, input_hw)
        encoding = model.encode_image(rgb)
        cache.put(key, {FEATURES: encoding.features_bchw})
        return encoding
    input_hw = v2_input_size(model, image_hw)
    features = _v2_features(model, rgb, input_hw, cache, bfloat16=model.use_bfloat16)
    # As the image predictor: a single image is a frame with no memory to attend to.
    embedding_bchw = features.features_bchw + model.network.no_mem_embed.view(1, -1, 1, 1)
    return ImageEncoding(embedding_bchw, features.high_res_features, image_hw, input_hw)


@torch.inference_mode()
def cached_frame_features(model, frame, input_hw: tuple[int, int], cache: EmbeddingCache | None) -> SamV2ImageFeatures:
    """A SAM v2 model's float32 features of one frame ((H, W) or (H, W, 3), any dtype) resized to
    ``input_hw``, as the tracker uses them, from ``cache`` when it holds them (always encoded
    without a cache)."""
    return _v2_features(model, to_uint8_rgb(frame), tuple(input_hw), cache, bfloat16=False)


def v2_input_size(model, image_hw: tuple[int, int]) -> tuple[int, int]:
    """The (h, w) a SAM v2 model resizes an image of ``image_hw`` to, under its ``input_size``."""
    return input_size_for(model.input_size, image_hw, model.network.arch.image_encoder.input_size_multiple)


def embedding_key(model, rgb_hw3, precision: str, input_hw: tuple[int, int]) -> EmbeddingKey:
    return EmbeddingKey(pixels_digest(rgb_hw3), model_digest(model), precision, tuple(int(side) for side in input_hw))


def _v2_features(model, rgb_hw3, input_hw: tuple[int, int], cache: EmbeddingCache | None, bfloat16: bool) -> SamV2ImageFeatures:
    network = model.network
    names = (FEATURES, *HIGH_RES) if network.arch.use_high_res_features_in_sam else (FEATURES,)
    key = None if cache is None else embedding_key(model, rgb_hw3, "bfloat16" if bfloat16 else "float32", input_hw)
    tensors = None if cache is None else cache.get(key, names, model.device)
    if tensors is not None:
        features_bchw = tensors[FEATURES]
        high_res = tuple(tensors[name] for name in HIGH_RES) if len(names) > 1 else None
        return SamV2ImageFeatures(features_bchw, network.image_encoder.neck.position_encoding(features_bchw), high_res)
    with torch.autocast(model.device.type, dtype=torch.bfloat16, enabled=bfloat16):
        features = network.encode_image(to_model_input(rgb_hw3, input_hw, model.device))
    features = features.to(torch.float32)
    if cache is None:
        return features
    stored = {FEATURES: features.features_bchw}
    if features.high_res_features is not None:
        stored.update(zip(HIGH_RES, features.high_res_features))
    cache.put(key, stored)
    return features
