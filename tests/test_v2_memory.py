"""Parity of the SAM v2 memory encoder and memory-image fusion with the official sam2 modules.

The official modules are built from the released configs (``sam2/configs``) with hydra, every
tensor is re-randomised with a fixed seed (many start at 0 or 1, or at 1e-6 for layer scales,
which would hide bugs), the state dict is loaded strictly into ours, and both get the same
random inputs.

Tolerance: outputs must agree to 1e-5 of the reference's largest magnitude. Everything runs in
float32 (rounding 6e-8 per operation) and both sides do the same operations in the same order,
so differences can only come from kernels reordering sums (at most ~30k terms, in attention over
several memory frames), typically 1e-7 to 1e-6 of the output scale; a real bug (one frame rotated
wrongly, a missed 0.1 input scale, an unrotated pointer rotated) moves outputs by 1e-2 or more.
In practice the outputs are bitwise identical on CPU.

The everyday suite uses a small variant (width 32, memory width 16, 2 layers, 2 heads); the
released sizes run in the ``slow`` set.
"""

import inspect
import json
from dataclasses import replace
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hydra.utils import instantiate
from omegaconf import OmegaConf

import sam2
from sam2.modeling.position_encoding import compute_axial_cis
from sam2.modeling.sam2_base import SAM2Base
from sam2.modeling.sam.transformer import RoPEAttention
from sam_stack.models.v2.memory import (
    OFFICIAL_MEMORY,
    AxialRotaryEncoding,
    MemoryArchitecture,
    MemoryEncoder,
    MemoryEncoderArchitecture,
    MemoryFusion,
    MemoryFusionArchitecture,
    encode_new_memory,
    memory_architecture_from_state_dict,
    object_pointer_tokens,
    spatial_memory_tokens,
)

CONFIGS = Path(sam2.__file__).parent / "configs"
CONFIG_OF_VERSION = {"v2": "sam2/sam2_hiera_t.yaml", "v2.1": "sam2.1/sam2.1_hiera_t.yaml"}
ALL_CONFIGS = sorted(
    str(path.relative_to(CONFIGS))
    for folder in ("sam2", "sam2.1")  # sam2.1_training holds a fine-tuning recipe, not a model
    for path in (CONFIGS / folder).glob("*.yaml")
)
RELATIVE_TOLERANCE = 1e-5

SMALL_ENCODER = MemoryEncoderArchitecture(image_dim=32, memory_dim=16)
SMALL_FUSION = MemoryFusionArchitecture(dim=32, memory_dim=16, depth=2, num_heads=2, feedforward_dim=64)


# ---------------------------------------------------------------------------------- helpers


def official_model_config(version: str):
    return OmegaConf.load(CONFIGS / CONFIG_OF_VERSION[version]).model


def official_memory_encoder(arch: MemoryEncoderArchitecture, version: str = "v2.1"):
    """The official MemoryEncoder from the released config, resized to ``arch``'s widths."""
    cfg = official_model_config(version).memory_encoder
    cfg.in_dim = arch.image_dim
    cfg.out_dim = arch.memory_dim
    cfg.position_encoding.num_pos_feats = arch.memory_dim
    cfg.mask_downsampler.embed_dim = arch.image_dim
    cfg.fuser.layer.dim = arch.image_dim
    cfg.fuser.num_layers = arch.fuser_depth
    return instantiate(cfg).eval()


def official_memory_attention(arch: MemoryFusionArchitecture, version: str = "v2.1"):
    """The official MemoryAttention from the released config, resized to ``arch``'s widths."""
    cfg = official_model_config(version).memory_attention
    cfg.d_model = arch.dim
    cfg.num_layers = arch.depth
    cfg.layer.d_model = arch.dim
    cfg.layer.dim_feedforward = arch.feedforward_dim
    for attention in (cfg.layer.self_attention, cfg.layer.cross_attention):
        attention.embedding_dim = arch.dim
        attention.num_heads = arch.num_heads
    cfg.layer.cross_attention.kv_in_dim = arch.memory_dim
    return instantiate(cfg).eval()  # eval: the official layers have dropout 0.1


def randomise_(module: torch.nn.Module, seed: int) -> None:
    """Refills every parameter and buffer with Gaussian noise.

    Matrices and kernels get std 1 / sqrt(fan-in), so activations stay O(1) through the stack;
    vectors (biases, norm weights, layer scales) get std 0.5.
    """
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for tensor in module.state_dict().values():
            std = tensor[0].numel() ** -0.5 if tensor.ndim > 1 else 0.5
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * std)


def ours_from(official: torch.nn.Module, ours: torch.nn.Module) -> torch.nn.Module:
    ours.load_state_dict(official.state_dict(), strict=True)
    return ours.eval()


def assert_matches(ours: torch.Tensor, reference: torch.Tensor) -> None:
    assert ours.shape == reference.shape
    scale = reference.abs().max().item()
    max_diff = (ours - reference).abs().max().item()
    assert max_diff <= RELATIVE_TOLERANCE * scale, f"max abs diff {max_diff:.3g} (outputs up to {scale:.3g})"


def seq_first(x_bchw: torch.Tensor) -> torch.Tensor:
    """(B, C, H, W) -> (H * W, B, C), the official layout of image tokens."""
    return x_bchw.flatten(2).permute(2, 0, 1)


def run_official_fusion(official, image_bchw, image_pos_bchw, memory_bmc, memory_pos_bmc, num_pointer_tokens):
    batch, channels, height, width = image_bchw.shape
    fused_nbc = official(
        curr=[seq_first(image_bchw)],
        curr_pos=[seq_first(image_pos_bchw)],
        memory=memory_bmc.transpose(0, 1),
        memory_pos=memory_pos_bmc.transpose(0, 1),
        num_obj_ptr_tokens=num_pointer_tokens,
    )
    return fused_nbc.permute(1, 2, 0).reshape(batch, channels, height, width)


def fusion_inputs(arch: MemoryFusionArchitecture, batch, height, width, num_frames, num_pointers, seed):
    """Random image tokens and a memory of ``num_frames`` grids plus ``num_pointers`` pointers.

    Each object pointer is split into dim / memory_dim tokens, as SAM2Base does.
    """
    generator = torch.Generator().manual_seed(seed)
    num_pointer_tokens = num_pointers * (arch.dim // arch.memory_dim)
    num_memory = num_frames * height * width + num_pointer_tokens

    def randn(*shape):
        return torch.randn(shape, generator=generator)

    image = randn(batch, arch.dim, height, width)
    image_pos = randn(batch, arch.dim, height, width)
    memory = randn(batch, num_memory, arch.memory_dim)
    memory_pos = randn(batch, num_memory, arch.memory_dim)
    return image, image_pos, memory, memory_pos, num_pointer_tokens


# ------------------------------------------------------------------- architecture and keys


@pytest.mark.parametrize("config", ALL_CONFIGS)
def test_official_architecture_matches_released_configs(config):
    model = OmegaConf.load(CONFIGS / config).model
    official = OFFICIAL_MEMORY["v2.1" if config.startswith("sam2.1") else "v2"]
    encoder, attention = model.memory_encoder, model.memory_attention
    layer = attention.layer
    assert encoder.out_dim == official.encoder.memory_dim == layer.cross_attention.kv_in_dim
    assert model.image_encoder.neck.d_model == official.encoder.image_dim == encoder.fuser.layer.dim
    assert encoder.position_encoding.num_pos_feats == official.encoder.memory_dim
    assert (
        encoder.mask_downsampler.kernel_size,
        encoder.mask_downsampler.stride,
        encoder.mask_downsampler.padding,
    ) == (official.encoder.mask_kernel_size, official.encoder.mask_stride, official.encoder.mask_padding)
    assert (encoder.fuser.num_layers, encoder.fuser.layer.kernel_size) == (
        official.encoder.fuser_depth,
        official.encoder.fuser_kernel_size,
    )
    # Masks are downsampled to the image features' grid: the backbone stride (SAM2Base's default).
    assert "backbone_stride" not in model
    backbone_stride = inspect.signature(SAM2Base).parameters["backbone_stride"].default
    assert official.encoder.mask_total_stride == backbone_stride
    assert (attention.d_model, attention.num_layers, layer.dim_feedforward) == (
        official.fusion.dim,
        official.fusion.depth,
        official.fusion.feedforward_dim,
    )
    for rope in (layer.self_attention, layer.cross_attention):
        assert (rope.num_heads, rope.rope_theta, rope.downsample_rate) == (
            official.fusion.num_heads,
            official.fusion.rope_theta,
            1,
        )
    # The settings that MemoryFusion implements rather than reads.
    assert attention.pos_enc_at_input and layer.activation == "relu"
    assert not layer.pos_enc_at_attn and not layer.pos_enc_at_cross_attn_queries
    assert layer.pos_enc_at_cross_attn_keys and layer.cross_attention.rope_k_repeat

    assert model.num_maskmem == official.num_memory_frames
    assert model.sigmoid_scale_for_mem_enc == official.mask_sigmoid_scale
    assert model.sigmoid_bias_for_mem_enc == official.mask_sigmoid_bias
    assert model.get("no_obj_embed_spatial", False) == official.no_object_embedding
    assert model.add_tpos_enc_to_obj_ptrs == official.pointer_temporal_encoding
    assert model.get("proj_tpos_enc_in_obj_ptrs", False) == official.pointer_temporal_projection
    assert model.get("use_signed_tpos_enc_to_obj_ptrs", False) == official.signed_pointer_distance
    assert "max_obj_ptrs_in_encoder" not in model  # so SAM2Base's default applies
    default_pointers = inspect.signature(SAM2Base).parameters["max_obj_ptrs_in_encoder"].default
    assert default_pointers == official.max_object_pointers


def test_keys_are_the_official_checkpoint_keys():
    encoder_keys = set(official_memory_encoder(MemoryEncoderArchitecture()).state_dict())
    attention_keys = set(official_memory_attention(MemoryFusionArchitecture()).state_dict())
    assert set(MemoryEncoder().state_dict()) == encoder_keys
    assert set(MemoryFusion().state_dict()) == attention_keys
    full_keys = {f"memory_encoder.{k}" for k in encoder_keys}
    full_keys |= {f"memory_attention.{k}" for k in attention_keys}
    for key in (
        "memory_encoder.mask_downsampler.encoder.0.weight",
        "memory_encoder.mask_downsampler.encoder.12.weight",
        "memory_encoder.pix_feat_proj.weight",
        "memory_encoder.fuser.layers.0.dwconv.weight",
        "memory_encoder.fuser.layers.1.gamma",
        "memory_encoder.out_proj.weight",
        "memory_attention.layers.0.self_attn.q_proj.weight",
        "memory_attention.layers.3.cross_attn_image.k_proj.weight",
        "memory_attention.layers.0.linear1.weight",
        "memory_attention.norm.weight",
    ):
        assert key in full_keys


def test_architecture_round_trips_through_a_dict():
    for arch in (*OFFICIAL_MEMORY.values(), MemoryArchitecture(encoder=SMALL_ENCODER, fusion=SMALL_FUSION)):
        data = json.loads(json.dumps(arch.to_dict()))
        assert MemoryArchitecture.from_dict(data) == arch


@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_architecture_is_read_from_tensors(version):
    encoder = official_memory_encoder(SMALL_ENCODER, version)
    attention = official_memory_attention(SMALL_FUSION, version)
    state_dict = {f"memory_encoder.{k}": v for k, v in encoder.state_dict().items()}
    state_dict |= {f"memory_attention.{k}": v for k, v in attention.state_dict().items()}
    state_dict["maskmem_tpos_enc"] = torch.zeros(5, 1, 1, SMALL_ENCODER.memory_dim)
    if version == "v2.1":
        state_dict["no_obj_embed_spatial"] = torch.zeros(1, SMALL_ENCODER.memory_dim)
        state_dict["obj_ptr_tpos_proj.weight"] = torch.zeros(SMALL_ENCODER.memory_dim, SMALL_FUSION.dim)
    expected = replace(
        OFFICIAL_MEMORY[version],
        encoder=SMALL_ENCODER,
        # The head count is stored in no tensor: the reader assumes the released models' one head.
        fusion=replace(SMALL_FUSION, num_heads=1),
        num_memory_frames=5,
    )
    assert memory_architecture_from_state_dict(state_dict) == expected


@pytest.mark.slow
@pytest.mark.parametrize("version", ["v2", "v2.1"])
def test_full_official_model_keys_and_architecture(version):
    state_dict = instantiate(official_model_config(version)).state_dict()
    assert memory_architecture_from_state_dict(state_dict) == OFFICIAL_MEMORY[version]
    for prefix, ours in (("memory_encoder.", MemoryEncoder()), ("memory_attention.", MemoryFusion())):
        part = {k.removeprefix(prefix): v for k, v in state_dict.items() if k.startswith(prefix)}
        ours.load_state_dict(part, strict=True)


# ------------------------------------------------------------------------------ rotary table


@pytest.mark.parametrize(("height", "width"), [(64, 64), (32, 32), (24, 40)])
def test_rotary_table_matches_official(height, width):
    ours = AxialRotaryEncoding(head_dim=256).table(height, width)
    reference = compute_axial_cis(dim=256, end_x=width, end_y=height)
    torch.testing.assert_close(ours, reference, rtol=0, atol=1e-6)


def test_rotary_table_is_computed_once_per_grid():
    rotary = AxialRotaryEncoding(head_dim=16)
    assert rotary.table(8, 8) is rotary.table(8, 8)
    assert rotary.table(4, 4).shape == (16, 8)


# --------------------------------------------------------------------------- memory encoder


def check_memory_encoder(arch: MemoryEncoderArchitecture, batch: int, grid: int, seed: int) -> None:
    official = official_memory_encoder(arch)
    randomise_(official, seed)
    ours = ours_from(official, MemoryEncoder(arch))
    generator = torch.Generator().manual_seed(seed + 1)
    image = torch.randn(batch, arch.image_dim, grid, grid, generator=generator)
    # Mask inputs as SAM2Base gives them: sigmoid probabilities scaled to [-10, 10].
    mask = torch.sigmoid(4 * torch.randn(batch, 1, 16 * grid, 16 * grid, generator=generator)) * 20 - 10
    with torch.no_grad():
        reference = official(image, mask, skip_mask_sigmoid=True)
        memory, memory_pos = ours(image, mask)
    assert_matches(memory, reference["vision_features"])
    assert_matches(memory_pos, reference["vision_pos_enc"][0])


@pytest.mark.parametrize("grid", [64, 32])
def test_memory_encoder_matches_official_small(grid):
    check_memory_encoder(SMALL_ENCODER, batch=2, grid=grid, seed=10)


@pytest.mark.slow
@pytest.mark.parametrize("grid", [64, 32])
def test_memory_encoder_matches_official_released_size(grid):
    check_memory_encoder(MemoryEncoderArchitecture(), batch=2, grid=grid, seed=11)


def test_memory_encoder_rejects_a_mask_of_the_wrong_size():
    encoder = MemoryEncoder(SMALL_ENCODER)
    with pytest.raises(ValueError, match="downsamples"):
        encoder(torch.zeros(1, 32, 8, 8), torch.zeros(1, 1, 64, 64))


@pytest.mark.parametrize("version", ["v2", "v2.1"])
@pytest.mark.parametrize(("binarize_flag", "from_points"), [(True, True), (True, False), (False, True)])
def test_encode_new_memory_matches_sam2base(version, binarize_flag, from_points):
    official = official_memory_encoder(SMALL_ENCODER, version)
    randomise_(official, 20)
    ours = ours_from(official, MemoryEncoder(SMALL_ENCODER))
    generator = torch.Generator().manual_seed(21)
    grid = 16
    image = torch.randn(2, SMALL_ENCODER.image_dim, grid, grid, generator=generator)
    mask_logits = 5 * torch.randn(2, 1, 16 * grid, 16 * grid, generator=generator)
    object_scores = torch.tensor([[3.0], [-2.0]])  # object present in the first, absent in the second
    no_object = torch.randn(1, SMALL_ENCODER.memory_dim, generator=generator) if version == "v2.1" else None
    # SAM2Base._encode_new_memory reads only these attributes of the model.
    model = SimpleNamespace(
        hidden_dim=SMALL_ENCODER.image_dim,
        training=False,
        non_overlap_masks_for_mem_enc=False,
        binarize_mask_from_pts_for_mem_enc=binarize_flag,
        sigmoid_scale_for_mem_enc=20.0,
        sigmoid_bias_for_mem_enc=-10.0,
        memory_encoder=official,
        no_obj_embed_spatial=no_object,
    )
    with torch.no_grad():
        reference, reference_pos = SAM2Base._encode_new_memory(
            model,
            current_vision_feats=[seq_first(image)],
            feat_sizes=[(grid, grid)],
            pred_masks_high_res=mask_logits,
            object_score_logits=object_scores,
            is_mask_from_pts=from_points,
        )
        memory, memory_pos = encode_new_memory(
            ours,
            image,
            mask_logits,
            binarize=binarize_flag and from_points,
            object_score_logits_b1=object_scores,
            no_object_embedding_1c=no_object,
        )
    assert_matches(memory, reference)
    assert_matches(memory_pos, reference_pos[0])


# ---------------------------------------------------------------------- memory-image fusion


def check_fusion(official, ours, arch, batch, height, width, num_frames, num_pointers, seed):
    inputs = fusion_inputs(arch, batch, height, width, num_frames, num_pointers, seed)
    with torch.no_grad():
        reference = run_official_fusion(official, *inputs)
        fused = ours(*inputs)
    assert_matches(fused, reference)


@pytest.fixture(scope="module")
def small_fusion_pair():
    official = official_memory_attention(SMALL_FUSION)
    randomise_(official, 30)
    return official, ours_from(official, MemoryFusion(SMALL_FUSION))


@pytest.mark.parametrize(
    ("grid", "num_frames", "num_pointers"),
    [(64, 2, 4), (64, 1, 0), (32, 7, 16), (32, 2, 1)],
)
def test_memory_fusion_matches_official_small(small_fusion_pair, grid, num_frames, num_pointers):
    official, ours = small_fusion_pair
    seed = grid + num_frames
    check_fusion(official, ours, SMALL_FUSION, 2, grid, grid, num_frames, num_pointers, seed)


def test_memory_fusion_on_a_non_square_grid(small_fusion_pair):
    """The official attention assumes a square grid; given the right table it handles any."""
    official, ours = small_fusion_pair
    height, width = 24, 40
    table = compute_axial_cis(dim=SMALL_FUSION.dim // SMALL_FUSION.num_heads, end_x=width, end_y=height)
    for module in official.modules():
        if isinstance(module, RoPEAttention):
            module.freqs_cis = table
    check_fusion(official, ours, SMALL_FUSION, 1, height, width, num_frames=2, num_pointers=3, seed=31)


def test_memory_fusion_rejects_memories_that_are_not_whole_frames(small_fusion_pair):
    _, ours = small_fusion_pair
    image, image_pos, memory, memory_pos, _ = fusion_inputs(SMALL_FUSION, 1, 8, 8, 2, 0, seed=32)
    with pytest.raises(ValueError, match="whole frames"):
        ours(image, image_pos, memory[:, :-3], memory_pos[:, :-3], num_object_pointer_tokens=0)


@pytest.mark.slow
@pytest.mark.parametrize("grid", [64, 32])
def test_memory_fusion_matches_official_released_size(grid):
    arch = MemoryFusionArchitecture()
    official = official_memory_attention(arch)
    randomise_(official, 40)
    ours = ours_from(official, MemoryFusion(arch))
    # A full memory bank: 7 memory frames and 16 object pointers of 4 tokens each.
    check_fusion(official, ours, arch, 1, grid, grid, num_frames=7, num_pointers=16, seed=41)


# ------------------------------------------------------- memory bank -> sequence -> fusion

# A 12-frame stack; prompted frames and frames tracked so far, around the frame being tracked.
BANK_SCENARIOS = {
    "forward": dict(frame_idx=9, reverse=False, prompted=[0, 3], tracked=[1, 2, 4, 5, 6, 7, 8]),
    "reverse": dict(frame_idx=4, reverse=True, prompted=[9, 2], tracked=[5, 6, 7, 8, 10, 11]),
}
NUM_FRAMES = 12
NUM_MASKMEM = 7
MAX_POINTERS = 16


def select_like_sam2base(frame_idx, reverse, prompted, tracked, signed_distance):
    """The frames SAM2Base uses (memory stride 1, no limit on prompted frames), in its order.

    Returns [(frame, temporal slot)] for the spatial memories and [(frame, distance)] for the
    object pointers.
    """
    back = -1 if reverse else 1  # "k frames back" is frame_idx - back * k
    memories = [(t, NUM_MASKMEM - 1) for t in prompted]
    memories += [
        (frame_idx - back * k, k - 1)
        for k in range(NUM_MASKMEM - 1, 0, -1)
        if frame_idx - back * k in tracked
    ]
    past_prompts = [t for t in prompted if (t >= frame_idx if reverse else t <= frame_idx)]
    pointers = [(t, (frame_idx - t) * back if signed_distance else abs(frame_idx - t)) for t in past_prompts]
    for k in range(1, min(NUM_FRAMES, MAX_POINTERS)):
        t = frame_idx - back * k
        if not 0 <= t < NUM_FRAMES:
            break
        if t in tracked:
            pointers.append((t, k))
    return memories, pointers


@pytest.mark.parametrize("version", ["v2", "v2.1"])
@pytest.mark.parametrize("scenario", sorted(BANK_SCENARIOS))
def test_memory_sequence_and_fusion_match_sam2base(version, scenario):
    setting = BANK_SCENARIOS[scenario]
    frame_idx, reverse = setting["frame_idx"], setting["reverse"]
    prompted, tracked = setting["prompted"], setting["tracked"]
    flags = OFFICIAL_MEMORY[version]
    dim, memory_dim, grid, batch = SMALL_FUSION.dim, SMALL_FUSION.memory_dim, 8, 2
    official = official_memory_attention(SMALL_FUSION, version)
    randomise_(official, 50)
    ours = ours_from(official, MemoryFusion(SMALL_FUSION))

    generator = torch.Generator().manual_seed(51)

    def randn(*shape):
        return torch.randn(shape, generator=generator)

    bank = {
        t: {
            "maskmem_features": randn(batch, memory_dim, grid, grid),
            "maskmem_pos_enc": [randn(1, memory_dim, grid, grid).expand(batch, -1, -1, -1)],
            "obj_ptr": randn(batch, dim),
        }
        for t in prompted + tracked
    }
    memory_temporal_encoding = 0.5 * randn(NUM_MASKMEM, 1, 1, memory_dim)
    with_projection = flags.pointer_temporal_projection
    projection = torch.nn.Linear(dim, memory_dim) if with_projection else torch.nn.Identity()
    randomise_(projection, 52)
    image, image_pos = randn(batch, dim, grid, grid), randn(batch, dim, grid, grid)

    # SAM2Base._prepare_memory_conditioned_features reads only these attributes of the model.
    model = SimpleNamespace(
        hidden_dim=dim,
        mem_dim=memory_dim,
        num_maskmem=NUM_MASKMEM,
        training=False,
        max_cond_frames_in_attn=-1,
        memory_temporal_stride_for_eval=1,
        maskmem_tpos_enc=memory_temporal_encoding,
        use_obj_ptrs_in_encoder=True,
        max_obj_ptrs_in_encoder=MAX_POINTERS,
        only_obj_ptrs_in_the_past_for_eval=True,
        add_tpos_enc_to_obj_ptrs=flags.pointer_temporal_encoding,
        proj_tpos_enc_in_obj_ptrs=flags.pointer_temporal_projection,
        use_signed_tpos_enc_to_obj_ptrs=flags.signed_pointer_distance,
        obj_ptr_tpos_proj=projection,
        directly_add_no_mem_embed=True,
        memory_attention=official,
    )
    output_dict = {
        "cond_frame_outputs": {t: bank[t] for t in prompted},
        "non_cond_frame_outputs": {t: bank[t] for t in tracked},
    }
    memories, pointers = select_like_sam2base(
        frame_idx, reverse, prompted, tracked, flags.signed_pointer_distance
    )
    with torch.no_grad():
        reference = SAM2Base._prepare_memory_conditioned_features(
            model,
            frame_idx=frame_idx,
            is_init_cond_frame=False,
            current_vision_feats=[seq_first(image)],
            current_vision_pos_embeds=[seq_first(image_pos)],
            feat_sizes=[(grid, grid)],
            output_dict=output_dict,
            num_frames=NUM_FRAMES,
            track_in_reverse=reverse,
        )
        spatial, spatial_pos = spatial_memory_tokens(
            [bank[t]["maskmem_features"] for t, _ in memories],
            [bank[t]["maskmem_pos_enc"][-1] for t, _ in memories],
            [slot for _, slot in memories],
            memory_temporal_encoding,
        )
        pointer_tokens, pointer_pos = object_pointer_tokens(
            [bank[t]["obj_ptr"] for t, _ in pointers],
            [distance for _, distance in pointers],
            max_distance=min(NUM_FRAMES, MAX_POINTERS) - 1,
            memory_dim=memory_dim,
            temporal_encoding=flags.pointer_temporal_encoding,
            temporal_projection=projection if with_projection else None,
        )
        fused = ours(
            image,
            image_pos,
            torch.cat([spatial, pointer_tokens], dim=1),
            torch.cat([spatial_pos, pointer_pos], dim=1),
            num_object_pointer_tokens=pointer_tokens.shape[1],
        )
    assert_matches(fused, reference)
