"""What SAM2Base does around the memory encoder when it stores a new memory (``_encode_new_memory``).

The mask decoder gives mask logits. Before they reach the memory encoder they become
probabilities (sigmoid), or hard 0/1 values for frames the user clicked on (so the memory holds
exactly the mask the user saw), and are then rescaled to [bias, scale + bias], i.e. [-10, 10] in
every released model: the same range as the logits of a mask given by the user. After encoding,
v2.1 adds a learned embedding to memories of frames where the object is predicted absent.
"""

import torch

from .memory_encoder import MemoryEncoder


def mask_logits_to_memory_input(
    mask_logits_b1hw: torch.Tensor,
    *,
    binarize: bool = False,
    sigmoid_scale: float = 20.0,
    sigmoid_bias: float = -10.0,
) -> torch.Tensor:
    """(B, 1, H, W) mask logits at image resolution -> (B, 1, H, W) memory-encoder input.

    Args:
        binarize: threshold the logits at 0 instead of applying a sigmoid. The official code does
            so when ``binarize_mask_from_pts_for_mem_enc`` is set (the video predictor sets it)
            and the frame's mask came from point or box prompts; never while training.
        sigmoid_scale, sigmoid_bias: ``sigmoid_scale_for_mem_enc`` and
            ``sigmoid_bias_for_mem_enc``; the defaults are those of every released config.
            With scale 1 and bias 0 and no binarisation this is the plain sigmoid that the
            official MemoryEncoder applies itself when not told ``skip_mask_sigmoid``.
    """
    if binarize:
        probabilities = (mask_logits_b1hw > 0).to(mask_logits_b1hw.dtype)
    else:
        probabilities = torch.sigmoid(mask_logits_b1hw)
    return probabilities * sigmoid_scale + sigmoid_bias


def add_no_object_embedding(
    memory_bchw: torch.Tensor,
    object_score_logits_b1: torch.Tensor,
    no_object_embedding_1c: torch.Tensor,
) -> torch.Tensor:
    """Adds the learned no-object embedding to the memories of frames where the object is absent.

    Args:
        memory_bchw: (B, C_mem, H, W) memories from the memory encoder.
        object_score_logits_b1: (B, 1) the mask decoder's object-score logits; the object is
            present where they are > 0.
        no_object_embedding_1c: (1, C_mem) the official top-level ``no_obj_embed_spatial``.

    Returns:
        (B, C_mem, H, W) memories, the embedding added at every pixel of absent-object frames.
    """
    absent_b1 = 1 - (object_score_logits_b1 > 0).to(memory_bchw.dtype)
    return memory_bchw + absent_b1[:, :, None, None] * no_object_embedding_1c[:, :, None, None]


def encode_new_memory(
    memory_encoder: MemoryEncoder,
    image_features_bchw: torch.Tensor,
    mask_logits_b1hw: torch.Tensor,
    *,
    binarize: bool = False,
    sigmoid_scale: float = 20.0,
    sigmoid_bias: float = -10.0,
    object_score_logits_b1: torch.Tensor | None = None,
    no_object_embedding_1c: torch.Tensor | None = None,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One frame's memory from its image features and predicted mask, as SAM2Base stores it.

    Args:
        memory_encoder: the model's memory encoder.
        image_features_bchw: (B, C, H, W) the frame's lowest-resolution image features, before
            any memory fusion.
        mask_logits_b1hw: (B, 1, 16 H, 16 W) mask logits at image resolution (the decoder's
            low-resolution logits upsampled bilinearly, as the official ``pred_masks_high_res``).
        binarize, sigmoid_scale, sigmoid_bias: see :func:`mask_logits_to_memory_input`.
        object_score_logits_b1: (B, 1) the decoder's object-score logits; needed with
            ``no_object_embedding_1c``.
        no_object_embedding_1c: (1, C_mem) v2.1's ``no_obj_embed_spatial``; None for v2.

    Returns:
        memory_bchw: (B, C_mem, H, W) and memory_pos_bchw: (B, C_mem, H, W), see
        :meth:`MemoryEncoder.forward`.
    """
    mask_b1hw = mask_logits_to_memory_input(
        mask_logits_b1hw, binarize=binarize, sigmoid_scale=sigmoid_scale, sigmoid_bias=sigmoid_bias
    )
    memory_bchw, memory_pos_bchw = memory_encoder(image_features_bchw, mask_b1hw)
    if no_object_embedding_1c is not None:
        if object_score_logits_b1 is None:
            raise ValueError("the no-object embedding needs the object-score logits")
        memory_bchw = add_no_object_embedding(memory_bchw, object_score_logits_b1, no_object_embedding_1c)
    return memory_bchw, memory_pos_bchw
