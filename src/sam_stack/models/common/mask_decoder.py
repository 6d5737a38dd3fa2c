"""SAM's mask decoder: prompt tokens and image features in, mask logits and their scores out.

One implementation serves v1 and v2. v2 adds three things, switched on by its checkpoints: an
object-score token (is the object in the image at all?), skip connections from the image
encoder's high-resolution features while upscaling, and a sigmoid on the IoU head.
"""

from dataclasses import dataclass

import torch
from torch import nn

from .in_place import activate, add
from .layer_norm_2d import LayerNorm2d
from .mlp import MLP
from .two_way_transformer import TwoWayTransformer


@dataclass
class DecoderOutput:
    """Every candidate the decoder makes, before choosing single- or multi-mask output.

    masks_bkhw: (B, 1 + M, 4h, 4w) logits; index 0 is the single-mask output, 1.. the M
        multi-mask candidates.
    iou_bk: (B, 1 + M) predicted IoU of each candidate.
    mask_tokens_bkc: (B, 1 + M, C) the refined mask tokens (v2 turns one into an object pointer).
    object_score_b1: (B, 1) logit that the object is present, or None for v1 models.
    """

    masks_bkhw: torch.Tensor
    iou_bk: torch.Tensor
    mask_tokens_bkc: torch.Tensor
    object_score_b1: torch.Tensor | None


class MaskDecoder(nn.Module):
    """Runs the two-way transformer on [output tokens, prompt tokens] and the image features,
    then turns each mask token into a dynamic 1x1 convolution over upscaled image features."""

    def __init__(
        self,
        transformer_dim: int = 256,
        num_multimask_outputs: int = 3,
        iou_head_depth: int = 3,
        iou_head_hidden_dim: int = 256,
        use_high_res_features: bool = False,
        iou_prediction_use_sigmoid: bool = False,
        pred_obj_scores: bool = False,
        pred_obj_scores_mlp: bool = False,
    ) -> None:
        super().__init__()
        self.transformer = TwoWayTransformer(embedding_dim=transformer_dim)
        self.num_mask_tokens = num_multimask_outputs + 1
        self.iou_token = nn.Embedding(1, transformer_dim)
        self.mask_tokens = nn.Embedding(self.num_mask_tokens, transformer_dim)
        self.pred_obj_scores = pred_obj_scores
        if pred_obj_scores:
            self.obj_score_token = nn.Embedding(1, transformer_dim)
            self.pred_obj_score_head = (
                MLP(transformer_dim, transformer_dim, 1, 3) if pred_obj_scores_mlp else nn.Linear(transformer_dim, 1)
            )
        self.output_upscaling = nn.Sequential(
            nn.ConvTranspose2d(transformer_dim, transformer_dim // 4, kernel_size=2, stride=2),
            LayerNorm2d(transformer_dim // 4),
            nn.GELU(),
            nn.ConvTranspose2d(transformer_dim // 4, transformer_dim // 8, kernel_size=2, stride=2),
            nn.GELU(),
        )
        self.use_high_res_features = use_high_res_features
        if use_high_res_features:
            # Project the encoder's two finest feature maps to the widths of the upscaling path.
            self.conv_s0 = nn.Conv2d(transformer_dim, transformer_dim // 8, kernel_size=1)
            self.conv_s1 = nn.Conv2d(transformer_dim, transformer_dim // 4, kernel_size=1)
        self.output_hypernetworks_mlps = nn.ModuleList(
            MLP(transformer_dim, transformer_dim, transformer_dim // 8, 3) for _ in range(self.num_mask_tokens)
        )
        self.iou_prediction_head = MLP(
            transformer_dim,
            iou_head_hidden_dim,
            self.num_mask_tokens,
            iou_head_depth,
            sigmoid_output=iou_prediction_use_sigmoid,
        )

    def forward(
        self,
        image_bchw: torch.Tensor,
        image_pe_1chw: torch.Tensor,
        sparse_bnc: torch.Tensor,
        dense_bchw: torch.Tensor,
        high_res_features: tuple[torch.Tensor, torch.Tensor] | None = None,
    ) -> DecoderOutput:
        """Decodes B prompts against image features.

        image_bchw: (1 or B, C, h, w) image features; one image is shared by all B prompts.
        image_pe_1chw: (1, C, h, w) positional encoding of the feature grid.
        sparse_bnc: (B, N, C) point and box tokens; dense_bchw: (1 or B, C, h, w) mask embedding.
        high_res_features: v2 only, the projected (conv_s0, conv_s1) features at 4x and 2x the
            grid size, with the same batch rule as ``image_bchw``.
        """
        batch = sparse_bnc.shape[0]
        learned = [self.iou_token.weight, self.mask_tokens.weight]
        if self.pred_obj_scores:
            learned.insert(0, self.obj_score_token.weight)
        first_iou = 1 if self.pred_obj_scores else 0
        tokens_bnc = torch.cat([torch.cat(learned).expand(batch, -1, -1), sparse_bnc], dim=1)

        # Without mask prompts the image (and its dense embedding) is the same for every prompt:
        # it stays one copy, and the transformer's first block projects it once for all of them
        # (the official decoder repeats it per prompt first).
        image_bchw = image_bchw + dense_bchw
        _, channels, height, width = image_bchw.shape
        tokens_bnc, image_bmc = self.transformer(image_bchw, image_pe_1chw, tokens_bnc)
        iou_token_bc = tokens_bnc[:, first_iou]
        mask_tokens_bkc = tokens_bnc[:, first_iou + 1 : first_iou + 1 + self.num_mask_tokens]

        upscaled_bchw = self.upscale(image_bmc.transpose(1, 2).reshape(batch, channels, height, width), high_res_features)
        weights_bkc = torch.stack([mlp(mask_tokens_bkc[:, i]) for i, mlp in enumerate(self.output_hypernetworks_mlps)], 1)
        b, c, h, w = upscaled_bchw.shape
        masks_bkhw = (weights_bkc @ upscaled_bchw.view(b, c, h * w)).view(b, -1, h, w)

        object_score_b1 = self.pred_obj_score_head(tokens_bnc[:, 0]) if self.pred_obj_scores else None
        return DecoderOutput(masks_bkhw, self.iou_prediction_head(iou_token_bc), mask_tokens_bkc, object_score_b1)

    def upscale(
        self, image_bchw: torch.Tensor, high_res_features: tuple[torch.Tensor, torch.Tensor] | None
    ) -> torch.Tensor:
        """(B, C, h, w) -> (B, C / 8, 4h, 4w); v2 adds its high-resolution features on the way.

        The official ``nn.Sequential`` is called step by step so that each step writes into the
        one before's output: with 64 prompts the last one is half a gigabyte.
        """
        up1, norm1, act1, up2, act2 = self.output_upscaling
        features_s0, features_s1 = high_res_features if self.use_high_res_features else (None, None)
        x = up1(image_bchw)
        if features_s1 is not None:
            x = add(x, features_s1, into=x)
        x = up2(activate(act1, norm1(x)))
        if features_s0 is not None:
            x = add(x, features_s0, into=x)
        return activate(act2, x)
