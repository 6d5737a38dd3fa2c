"""The hyper-parameters of a SAM v2 image encoder (Hiera trunk + FPN neck), and how to read them.

:class:`HieraArchitecture` holds what the official ``Hiera``, ``FpnNeck`` and ``ImageEncoder``
take as arguments. The four official sizes are the constants :data:`tiny`, :data:`small`,
:data:`base_plus` and :data:`large`; SAM 2 and SAM 2.1 use the same image encoder for each size.

:func:`hiera_architecture_from_state_dict` recovers an architecture from the weights alone.
"""

import itertools
import math
from dataclasses import asdict, dataclass, fields

import torch

from sam_stack.errors import CheckpointError

# The patch embedding of the official Hiera is fixed: a 7x7 convolution of stride 4 and padding 3
# that turns each 4x4 block of pixels into one token.
PATCH_KERNEL_SIZE = 7
PATCH_STRIDE = 4
PATCH_PADDING = 3

# Every Hiera block's MLP has a hidden layer four times as wide as the block (not configurable in
# the official code either).
MLP_RATIO = 4


@dataclass(frozen=True)
class HieraBlockSpec:
    """What one Hiera block needs to be built.

    ``window_size`` is the side of the attention windows of the block's *input* grid, or 0 for
    global attention; ``q_stride`` is the pooling stride of the queries, or 0 for none.
    """

    dim: int
    dim_out: int
    num_heads: int
    window_size: int
    q_stride: int


@dataclass(frozen=True)
class HieraArchitecture:
    """The hyper-parameters of a Hiera image encoder, named as the official constructor arguments.

    Trunk (``Hiera``):
        embed_dim: channels of the first stage.
        num_heads: attention heads of the first stage.
        stages: number of blocks in each stage.
        global_att_blocks: indices (over all blocks) of the blocks that attend globally.
        window_pos_embed_bkg_spatial_size: (h, w) of the learned background position embedding,
            which is resized to the token grid.
        window_spec: window side of each stage (used by the stage's blocks that are not global).
        q_pool: how many stage transitions pool the queries (the first ``q_pool`` ones).
        q_stride: the pooling stride at those transitions (the official (2, 2), written as 2).
        dim_mul, head_mul: channels and heads are multiplied by these at each stage transition.
    Neck (``FpnNeck``) and ``ImageEncoder``:
        d_model: channels of every output level.
        fpn_top_down_levels: output levels that add the upsampled coarser level to their own.
        scalp: how many of the coarsest levels are dropped from the output.

    The official neck also takes ``backbone_channel_list``; here it is derived from the trunk
    (:attr:`backbone_channel_list`) so the two cannot disagree. Every official checkpoint uses
    nearest-neighbour upsampling and sums in the neck, which is all this implementation supports.
    """

    embed_dim: int
    num_heads: int
    stages: tuple[int, ...]
    global_att_blocks: tuple[int, ...]
    window_pos_embed_bkg_spatial_size: tuple[int, int]
    window_spec: tuple[int, ...]
    q_pool: int = 3
    q_stride: int = 2
    dim_mul: float = 2.0
    head_mul: float = 2.0
    d_model: int = 256
    fpn_top_down_levels: tuple[int, ...] = (2, 3)
    scalp: int = 1

    def __post_init__(self) -> None:
        if len(self.window_spec) != len(self.stages):
            raise ValueError(f"window_spec {self.window_spec} needs one size per stage {self.stages}")
        if min(self.stages) < 1:
            raise ValueError(f"every stage needs at least one block, got {self.stages}")
        if not 0 <= self.q_pool < len(self.stages):
            raise ValueError(f"q_pool must be in [0, {len(self.stages) - 1}], got {self.q_pool}")
        if not 0 <= self.scalp < len(self.stages):
            raise ValueError(f"scalp must be in [0, {len(self.stages) - 1}], got {self.scalp}")
        for level in self.fpn_top_down_levels:
            if level + 1 < len(self.stages) and (level + 1 > self.q_pool or self.q_stride != 2):
                # The neck doubles the coarser level to add it, so it must be half the size.
                raise ValueError(
                    f"fpn_top_down_levels has level {level}, but stage {level + 1} is not half "
                    f"its size (q_pool={self.q_pool}, q_stride={self.q_stride})"
                )
        for index, spec in enumerate(self.block_specs()):
            if spec.q_stride and spec.dim == spec.dim_out:
                # Only a widening block pools its shortcut (official code; dim_mul 1 cannot pool).
                raise ValueError(f"block {index} pools queries but keeps {spec.dim} channels")
            if spec.q_stride and spec.window_size % spec.q_stride:
                # Pooling inside a window must give whole windows on the pooled grid.
                raise ValueError(
                    f"block {index} pools queries by {spec.q_stride} inside windows of "
                    f"{spec.window_size}, which is not a multiple of the stride"
                )

    @property
    def stage_ends(self) -> tuple[int, ...]:
        """Index of the last block of each stage."""
        return tuple(total - 1 for total in itertools.accumulate(self.stages))

    def block_specs(self) -> list[HieraBlockSpec]:
        """The build arguments of every block, in order."""
        specs = []
        dim, heads = self.embed_dim, self.num_heads
        for stage, stage_depth in enumerate(self.stages):
            for index_in_stage in range(stage_depth):
                block_index = sum(self.stages[:stage]) + index_in_stage
                changes_stage = stage > 0 and index_in_stage == 0
                dim_in = dim
                if changes_stage:
                    dim, heads = int(dim * self.dim_mul), int(heads * self.head_mul)
                # The first block of a stage still reads the previous stage's grid, so it windows
                # it with the previous stage's window (its output windows are then pooled down).
                window_size = self.window_spec[stage - 1 if changes_stage else stage]
                if block_index in self.global_att_blocks:
                    window_size = 0
                pools = changes_stage and stage <= self.q_pool
                specs.append(
                    HieraBlockSpec(
                        dim=dim_in,
                        dim_out=dim,
                        num_heads=heads,
                        window_size=window_size,
                        q_stride=self.q_stride if pools else 0,
                    )
                )
        return specs

    @property
    def stage_channels(self) -> tuple[int, ...]:
        """Channels of each stage's output, first (highest resolution) stage first."""
        specs = self.block_specs()
        return tuple(specs[end].dim_out for end in self.stage_ends)

    @property
    def backbone_channel_list(self) -> tuple[int, ...]:
        """The neck's input channels as the official config lists them: coarsest stage first."""
        return self.stage_channels[::-1]

    @property
    def input_size_multiple(self) -> int:
        """Image height and width must be multiples of this many pixels.

        The token grid (image / patch stride) must hold a whole number of first-stage windows,
        because the window position embedding is tiled over it, and must halve exactly at every
        query pooling, because the neck upsamples each level by exactly the pooling stride to add
        it to the next. Later stages need no such care: their windows are zero-padded, as in
        the official code (a 1024 image already pads the 64-token grid to 70 for 14-token windows).
        """
        return PATCH_STRIDE * math.lcm(self.window_spec[0], self.q_stride**self.q_pool)

    def to_dict(self) -> dict:
        """Plain Python values (lists, numbers) that survive JSON and ``torch.load(weights_only)``."""
        return {
            key: list(value) if isinstance(value, tuple) else value
            for key, value in asdict(self).items()
        }

    @classmethod
    def from_dict(cls, values: dict) -> "HieraArchitecture":
        """Inverse of :meth:`to_dict`; rejects unknown keys so a typo does not pass silently."""
        known = {field.name for field in fields(cls)}
        unknown = set(values) - known
        if unknown:
            raise CheckpointError(
                f"unknown Hiera architecture fields {sorted(unknown)}; expected some of {sorted(known)}"
            )
        return cls(
            **{key: tuple(value) if isinstance(value, list) else value for key, value in values.items()}
        )


tiny = HieraArchitecture(
    embed_dim=96,
    num_heads=1,
    stages=(1, 2, 7, 2),
    global_att_blocks=(5, 7, 9),
    window_pos_embed_bkg_spatial_size=(7, 7),
    window_spec=(8, 4, 14, 7),
)
small = HieraArchitecture(
    embed_dim=96,
    num_heads=1,
    stages=(1, 2, 11, 2),
    global_att_blocks=(7, 10, 13),
    window_pos_embed_bkg_spatial_size=(7, 7),
    window_spec=(8, 4, 14, 7),
)
base_plus = HieraArchitecture(
    embed_dim=112,
    num_heads=2,
    stages=(2, 3, 16, 3),
    global_att_blocks=(12, 16, 20),
    window_pos_embed_bkg_spatial_size=(14, 14),
    window_spec=(8, 4, 14, 7),
)
large = HieraArchitecture(
    embed_dim=144,
    num_heads=2,
    stages=(2, 6, 36, 4),
    global_att_blocks=(23, 33, 43),
    window_pos_embed_bkg_spatial_size=(7, 7),
    window_spec=(8, 4, 16, 8),
)

OFFICIAL_SIZES: dict[str, HieraArchitecture] = {
    "tiny": tiny,
    "small": small,
    "base_plus": base_plus,
    "large": large,
}


def hiera_architecture_from_state_dict(
    state_dict: dict[str, torch.Tensor],
) -> tuple[HieraArchitecture, str]:
    """Read a Hiera image encoder's architecture from its weights -> (architecture, size name).

    ``state_dict`` may be a whole SAM v2 model's (keys ``image_encoder.trunk...``) or the image
    encoder's own (keys ``trunk...``). The size name is "tiny", "small", "base_plus" or "large"
    when the weights have that official size's shapes, else "custom".

    Read from tensor shapes: embed_dim (patch embedding), the blocks per stage (a block whose
    input and output widths differ, and so owns a ``proj``, starts a stage), dim_mul (the width
    ratio between stages), window_pos_embed_bkg_spatial_size (``pos_embed``), the first stage's
    window (``pos_embed_window``) and d_model (the neck's convolutions).

    Not in the tensors: the number of heads (the qkv projection is as wide for any count), which
    blocks attend globally and the later stages' windows (attention has the same weights either
    way), and q_pool / q_stride / head_mul / fpn_top_down_levels / scalp (no weights at all).
    For an official size they are that size's. For a custom size they are the defaults below,
    which are a guess: a custom encoder is only exact when its architecture is stored next to
    its weights (``HieraArchitecture.to_dict``) and read back with ``HieraArchitecture.from_dict``.
    """
    prefix = _find_encoder_prefix(state_dict)
    trunk = prefix + "trunk."

    embed_dim = state_dict[trunk + "patch_embed.proj.weight"].shape[0]
    bkg_size = tuple(state_dict[trunk + "pos_embed"].shape[-2:])
    first_window = state_dict[trunk + "pos_embed_window"].shape[-1]

    blocks = trunk + "blocks."
    depth = 1 + max(int(key[len(blocks) :].split(".")[0]) for key in state_dict if key.startswith(blocks))
    stage_starts = [0] + [i for i in range(1, depth) if f"{blocks}{i}.proj.weight" in state_dict]
    stages = tuple(end - start for start, end in zip(stage_starts, stage_starts[1:] + [depth]))
    stage_dims = [state_dict[f"{blocks}{start}.attn.proj.weight"].shape[0] for start in stage_starts]
    dim_mul = stage_dims[1] / stage_dims[0] if len(stages) > 1 else 2.0
    d_model = state_dict[prefix + "neck.convs.0.conv.weight"].shape[0]

    read_from_tensors = {
        "embed_dim": embed_dim,
        "stages": stages,
        "window_pos_embed_bkg_spatial_size": bkg_size,
        "dim_mul": dim_mul,
        "d_model": d_model,
    }
    for name, official in OFFICIAL_SIZES.items():
        if first_window == official.window_spec[0] and all(
            getattr(official, key) == value for key, value in read_from_tensors.items()
        ):
            return official, name

    if len(stages) != 4:
        raise CheckpointError(
            f"a Hiera encoder with {len(stages)} stages {stages} has no default window sizes; "
            "its architecture must be stored with the weights (HieraArchitecture.to_dict)"
        )
    try:
        architecture = HieraArchitecture(
            **read_from_tensors,
            # The official Hiera constructor's defaults: one head in the first stage and windows
            # of 4, 14 and 7 tokens in the later stages. Its default global blocks (12, 16, 20)
            # suit one depth only, so one global block is placed where every official size has
            # one: at the last block of the third stage.
            num_heads=1,
            window_spec=(first_window, 4, 14, 7),
            global_att_blocks=(sum(stages[:3]) - 1,),
        )
    except ValueError as error:
        raise CheckpointError(f"these Hiera weights do not make a usable encoder: {error}") from error
    if architecture.stage_channels != tuple(stage_dims):
        raise CheckpointError(
            f"the Hiera stages are {stage_dims} channels wide, which is not {embed_dim} multiplied "
            f"by {dim_mul} at each stage"
        )
    return architecture, "custom"


def _find_encoder_prefix(state_dict: dict[str, torch.Tensor]) -> str:
    """'image_encoder.' for a whole model's weights, '' for the encoder's own."""
    for prefix in ("image_encoder.", ""):
        if prefix + "trunk.patch_embed.proj.weight" in state_dict:
            return prefix
    raise CheckpointError(
        "no Hiera image encoder in these weights: expected a key "
        "'image_encoder.trunk.patch_embed.proj.weight' (or 'trunk.patch_embed.proj.weight')"
    )
