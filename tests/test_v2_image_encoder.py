"""Parity of the SAM v2 image encoder (Hiera trunk + FPN neck) with the official ``sam2`` code.

Both encoders get the same random weights (every parameter re-drawn: many start at zero or one,
which would hide bugs) and the same random image, and every output level is compared.

Tolerance: atol = rtol = 1e-4 in float32. Both sides run the same torch kernels in the same order,
so on one machine the outputs are in fact identical (max difference 0.0); the margin allows for
kernels that split their reductions differently on other CPUs or thread counts, which moves
float32 results by about 1e-6 relative on features of magnitude 1 to 30.
"""

import io
import json
from pathlib import Path

import pytest
import torch

from sam_stack.errors import CheckpointError, ImageError
from sam_stack.models.common.sine_position_encoding import SinePositionEncoding2d
from sam_stack.models.v2.architecture import (
    OFFICIAL_SIZES,
    HieraArchitecture,
    hiera_architecture_from_state_dict,
)
from sam_stack.models.v2.image_encoder import HieraImageEncoder

import sam2  # noqa: E402 - after the stand-in for torchvision is on the path (conftest)
from sam2.modeling.backbones.hieradet import Hiera  # noqa: E402
from sam2.modeling.backbones.image_encoder import FpnNeck, ImageEncoder  # noqa: E402
from sam2.modeling.position_encoding import PositionEmbeddingSine  # noqa: E402

ATOL = RTOL = 1e-4

# Q-pooling at every stage change, windows (with zero padding at 1024: block 4 pools 14-token
# windows of a 64-token grid) and one global block. Its unrecoverable hyper-parameters are the
# defaults that hiera_architecture_from_state_dict assumes, so it round-trips from weights alone.
SMALL = HieraArchitecture(
    embed_dim=24,
    num_heads=1,
    stages=(1, 1, 2, 1),
    global_att_blocks=(3,),
    window_pos_embed_bkg_spatial_size=(7, 7),
    window_spec=(8, 4, 14, 7),
    d_model=32,
)
# Everything else off the official path: two heads throughout, a non-square background embedding,
# a windowed block with padding that does not pool (block 4: 6-token windows on a 64-token grid),
# top-down fusion into every level, and no scalp.
ODD = HieraArchitecture(
    embed_dim=16,
    num_heads=2,
    head_mul=1.0,
    stages=(1, 2, 3, 1),
    global_att_blocks=(5,),
    window_pos_embed_bkg_spatial_size=(5, 3),
    window_spec=(4, 4, 6, 2),
    d_model=32,
    fpn_top_down_levels=(0, 1, 2, 3),
    scalp=0,
)

CONFIG_DIR = Path(sam2.__file__).parent / "configs"
OFFICIAL_YAMLS = {
    "tiny": "hiera_t.yaml",
    "small": "hiera_s.yaml",
    "base_plus": "hiera_b+.yaml",
    "large": "hiera_l.yaml",
}


def official_encoder(architecture: HieraArchitecture) -> ImageEncoder:
    """The official image encoder built from our architecture description."""
    trunk = Hiera(
        embed_dim=architecture.embed_dim,
        num_heads=architecture.num_heads,
        q_pool=architecture.q_pool,
        q_stride=(architecture.q_stride, architecture.q_stride),
        stages=architecture.stages,
        dim_mul=architecture.dim_mul,
        head_mul=architecture.head_mul,
        window_pos_embed_bkg_spatial_size=architecture.window_pos_embed_bkg_spatial_size,
        window_spec=architecture.window_spec,
        global_att_blocks=architecture.global_att_blocks,
    )
    neck = FpnNeck(
        position_encoding=PositionEmbeddingSine(architecture.d_model),
        d_model=architecture.d_model,
        backbone_channel_list=list(architecture.backbone_channel_list),
        fpn_top_down_levels=list(architecture.fpn_top_down_levels),
        fpn_interp_model="nearest",
    )
    return ImageEncoder(trunk, neck, scalp=architecture.scalp)


def official_encoder_from_yaml(version: str, size: str) -> ImageEncoder:
    """The official image encoder instantiated from the official config file, as sam2 does."""
    from hydra.utils import instantiate
    from omegaconf import OmegaConf

    prefix = "sam2.1" if version == "v2.1" else "sam2"
    folder = "sam2.1" if version == "v2.1" else "sam2"
    config = OmegaConf.load(CONFIG_DIR / folder / f"{prefix}_{OFFICIAL_YAMLS[size]}")
    return instantiate(config.model.image_encoder)


def randomize_(module: torch.nn.Module, seed: int = 0) -> None:
    """Re-draw every parameter and buffer with a fixed seed.

    Linear and convolution weights get N(0, 1 / fan_in), which keeps activations of order one
    through the 48 blocks of the large size; everything else (biases, norm weights, position
    embeddings) gets N(0, 0.5^2).
    """
    generator = torch.Generator().manual_seed(seed)
    tensors = dict(module.named_parameters()) | dict(module.named_buffers())
    with torch.no_grad():
        for name, tensor in tensors.items():
            is_layer_weight = tensor.ndim >= 2 and "pos_embed" not in name
            std = (tensor[0].numel() ** -0.5) if is_layer_weight else 0.5
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * std)


def prefixed(state_dict: dict, prefix: str = "image_encoder.") -> dict:
    return {prefix + key: value for key, value in state_dict.items()}


def ours_loaded_from(official: ImageEncoder) -> HieraImageEncoder:
    """Our encoder built from the architecture read off the official weights, loaded strictly."""
    checkpoint_state = prefixed(official.state_dict())
    architecture, _ = hiera_architecture_from_state_dict(checkpoint_state)
    ours = HieraImageEncoder(architecture).eval()
    encoder_state = {key.removeprefix("image_encoder."): value for key, value in checkpoint_state.items()}
    ours.load_state_dict(encoder_state, strict=True)
    return ours


def assert_same_outputs(official: ImageEncoder, ours: HieraImageEncoder, image_bchw: torch.Tensor) -> None:
    with torch.inference_mode():
        expected = official(image_bchw)
        got = ours(image_bchw)
    assert len(got.backbone_fpn) == len(expected["backbone_fpn"])
    assert len(got.vision_pos_enc) == len(expected["vision_pos_enc"])
    pairs = [("backbone_fpn", e, g) for e, g in zip(expected["backbone_fpn"], got.backbone_fpn)]
    pairs += [("vision_pos_enc", e, g) for e, g in zip(expected["vision_pos_enc"], got.vision_pos_enc)]
    for name, expected_level, got_level in pairs:
        assert got_level.shape == expected_level.shape, name
        max_diff = (got_level - expected_level).abs().max().item()
        torch.testing.assert_close(
            got_level, expected_level, atol=ATOL, rtol=RTOL, msg=f"{name}: max |diff| {max_diff:.3g}"
        )
    torch.testing.assert_close(got.vision_features, expected["vision_features"], atol=ATOL, rtol=RTOL)


@pytest.mark.parametrize(
    ("num_pos_feats", "height", "width", "normalize", "scale"),
    [(256, 64, 64, True, None), (32, 7, 12, True, 3.0), (64, 5, 3, False, None)],
)
def test_sine_position_encoding_matches_official(num_pos_feats, height, width, normalize, scale):
    feature_map = torch.randn(2, 8, height, width)
    expected = PositionEmbeddingSine(num_pos_feats, normalize=normalize, scale=scale)(feature_map)
    got = SinePositionEncoding2d(num_pos_feats, normalize=normalize, scale=scale)(feature_map)
    assert got.shape == (2, num_pos_feats, height, width)
    torch.testing.assert_close(got, expected, atol=1e-6, rtol=1e-6)


@pytest.mark.parametrize(
    ("architecture", "batch", "height", "width"),
    [(SMALL, 1, 1024, 1024), (SMALL, 1, 512, 512), (ODD, 2, 512, 384)],
    ids=["small-1024", "small-512", "odd-512x384-batch2"],
)
def test_small_encoders_match_official(architecture, batch, height, width):
    official = official_encoder(architecture).eval()
    randomize_(official)
    ours = HieraImageEncoder(architecture).eval()
    ours.load_state_dict(official.state_dict(), strict=True)
    image_bchw = torch.randn(batch, 3, height, width, generator=torch.Generator().manual_seed(1))
    assert_same_outputs(official, ours, image_bchw)


def test_cached_position_embedding_follows_the_weights_and_the_grid():
    """The trunk keeps its resized position embedding between encodings; it must not go stale."""
    official = official_encoder(SMALL).eval()
    ours = HieraImageEncoder(SMALL).eval()
    image_bchw = torch.randn(1, 3, 512, 512, generator=torch.Generator().manual_seed(1))
    for seed, (height, width) in ((0, (512, 512)), (1, (512, 512)), (1, (256, 384))):
        randomize_(official, seed)
        ours.load_state_dict(official.state_dict(), strict=True)
        assert_same_outputs(official, ours, image_bchw[..., :height, :width])


def test_state_dict_keys_are_the_official_ones():
    official_keys = set(official_encoder(SMALL).state_dict())
    assert set(HieraImageEncoder(SMALL).state_dict()) == official_keys


def test_small_architecture_round_trips_from_weights():
    state_dict = prefixed(official_encoder(SMALL).state_dict())
    assert hiera_architecture_from_state_dict(state_dict) == (SMALL, "custom")
    unprefixed = {key.removeprefix("image_encoder."): value for key, value in state_dict.items()}
    assert hiera_architecture_from_state_dict(unprefixed) == (SMALL, "custom")


def test_odd_architecture_recovers_what_the_weights_hold():
    architecture, name = hiera_architecture_from_state_dict(official_encoder(ODD).state_dict())
    assert name == "custom"
    for field in ("embed_dim", "stages", "window_pos_embed_bkg_spatial_size", "dim_mul", "d_model"):
        assert getattr(architecture, field) == getattr(ODD, field), field
    assert architecture.window_spec[0] == ODD.window_spec[0]
    assert architecture.backbone_channel_list == ODD.backbone_channel_list


@pytest.mark.parametrize("architecture", [SMALL, ODD, *OFFICIAL_SIZES.values()])
def test_architecture_dict_round_trip(architecture):
    values = architecture.to_dict()
    # What model.save stores must survive both JSON and torch.load(weights_only=True).
    assert HieraArchitecture.from_dict(json.loads(json.dumps(values))) == architecture
    buffer = io.BytesIO()
    torch.save({"sam_stack": values}, buffer)
    buffer.seek(0)
    assert HieraArchitecture.from_dict(torch.load(buffer, weights_only=True)["sam_stack"]) == architecture


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(CheckpointError, match="window_size"):
        HieraArchitecture.from_dict({**SMALL.to_dict(), "window_size": 8})


def test_weights_without_an_encoder_are_rejected():
    with pytest.raises(CheckpointError, match="patch_embed"):
        hiera_architecture_from_state_dict({"sam_mask_decoder.iou_token.weight": torch.zeros(1, 256)})


@pytest.mark.parametrize("height, width", [(1000, 1024), (1024, 1016), (16, 32)])
def test_unsupported_image_size_is_a_clear_error(height, width):
    encoder = HieraImageEncoder(SMALL)
    with pytest.raises(ImageError, match=rf"multiples of 32 pixels.*got {height} x {width}"):
        encoder(torch.zeros(1, 3, height, width))


def test_wrong_image_shape_is_a_clear_error():
    encoder = HieraImageEncoder(SMALL)
    with pytest.raises(ImageError, match=r"\(B, 3, H, W\).*\(1, 1, 64, 64\)"):
        encoder(torch.zeros(1, 1, 64, 64))


def test_input_size_multiple_of_official_sizes_is_32():
    assert {architecture.input_size_multiple for architecture in OFFICIAL_SIZES.values()} == {32}


@pytest.mark.slow
@pytest.mark.parametrize("version", ["v2", "v2.1"])
@pytest.mark.parametrize("size", list(OFFICIAL_YAMLS))
def test_official_config_is_recognised(version, size):
    official = official_encoder_from_yaml(version, size)
    architecture, name = hiera_architecture_from_state_dict(prefixed(official.state_dict()))
    assert (architecture, name) == (OFFICIAL_SIZES[size], size)
    ours = HieraImageEncoder(architecture)
    ours.load_state_dict(official.state_dict(), strict=True)


@pytest.mark.slow
@pytest.mark.parametrize(
    ("size", "height", "width"),
    [("tiny", 1024, 1024), ("tiny", 512, 512), ("small", 1024, 1024), ("base_plus", 1024, 1024),
     ("large", 1024, 1024), ("large", 512, 512)],
)
def test_official_sizes_match_official(size, height, width):
    official = official_encoder_from_yaml("v2.1", size).eval()
    randomize_(official)
    ours = ours_loaded_from(official)
    image_bchw = torch.randn(1, 3, height, width, generator=torch.Generator().manual_seed(1))
    assert_same_outputs(official, ours, image_bchw)
