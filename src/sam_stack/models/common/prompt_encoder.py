"""The prompt encoder of SAM v1 and v2: points and box corners become tokens, a mask a feature map."""

import torch
from torch import nn

from .layer_norm_2d import LayerNorm2d
from .position_encoding import RandomFourierPositionEncoding

# Point labels as the model understands them. v2 passes box corners as points with labels 2 and 3;
# v1 embeds boxes separately but with the same two learned embeddings.
PADDING, BACKGROUND, FOREGROUND, BOX_TOP_LEFT, BOX_BOTTOM_RIGHT = -1, 0, 1, 2, 3


class PromptEncoder(nn.Module):
    """Embeds prompts given in pixels of the model's (padded) square input.

    Sparse prompts (points, box corners) become (B, N, C) tokens: the Fourier encoding of the
    pixel centre plus a learned embedding of the label. A low-resolution mask becomes a
    (B, C, h, w) map added to the image features; without one a learned "no mask" vector is used.
    """

    def __init__(self, embed_dim: int, image_embedding_size: tuple[int, int], input_image_size: tuple[int, int]):
        super().__init__()
        self.embed_dim = embed_dim
        self.image_embedding_size = image_embedding_size
        self.input_image_size = input_image_size
        self.pe_layer = RandomFourierPositionEncoding(embed_dim // 2)
        self.point_embeddings = nn.ModuleList(nn.Embedding(1, embed_dim) for _ in range(4))
        self.not_a_point_embed = nn.Embedding(1, embed_dim)
        # The mask is 4x the embedding size; two strided convolutions bring it down to it.
        self.mask_downscaling = nn.Sequential(
            nn.Conv2d(1, embed_dim // 64, kernel_size=2, stride=2),
            LayerNorm2d(embed_dim // 64),
            nn.GELU(),
            nn.Conv2d(embed_dim // 64, embed_dim // 16, kernel_size=2, stride=2),
            LayerNorm2d(embed_dim // 16),
            nn.GELU(),
            nn.Conv2d(embed_dim // 16, embed_dim, kernel_size=1),
        )
        self.no_mask_embed = nn.Embedding(1, embed_dim)

    def dense_positional_encoding(self) -> torch.Tensor:
        """Encoding of every cell of the image embedding grid -> (1, C, h, w)."""
        return self.pe_layer.grid(*self.image_embedding_size).unsqueeze(0)

    def embed_points(self, points_bn2: torch.Tensor, labels_bn: torch.Tensor, pad: bool) -> torch.Tensor:
        """Points (B, N, 2) in input pixels (x, y) with labels (B, N) -> tokens (B, N[+1], C).

        ``pad`` appends one "not a point" token, which the model was trained to see whenever no
        box is given.
        """
        if pad:
            points_bn2 = torch.cat([points_bn2, points_bn2.new_zeros(points_bn2.shape[0], 1, 2)], dim=1)
            labels_bn = torch.cat([labels_bn, labels_bn.new_full((labels_bn.shape[0], 1), PADDING)], dim=1)
        height, width = self.input_image_size
        # +0.5: a pixel's coordinate names its top-left corner; the model encodes its centre.
        embedding = self.pe_layer.encode_pixels(points_bn2 + 0.5, width, height)
        embedding = torch.where((labels_bn == PADDING)[..., None], torch.zeros_like(embedding), embedding)
        label_embeddings = torch.cat([self.not_a_point_embed.weight] + [e.weight for e in self.point_embeddings])
        known = (labels_bn >= PADDING) & (labels_bn <= BOX_BOTTOM_RIGHT)
        return embedding + torch.where(known[..., None], label_embeddings[(labels_bn + 1).clamp(0, 4)], 0.0)

    def embed_boxes(self, boxes_b4: torch.Tensor) -> torch.Tensor:
        """Boxes (B, 4) as x0, y0, x1, y1 in input pixels -> two corner tokens (B, 2, C)."""
        corners = boxes_b4.reshape(-1, 2, 2)
        labels = torch.tensor([BOX_TOP_LEFT, BOX_BOTTOM_RIGHT], device=boxes_b4.device).expand(len(corners), 2)
        return self.embed_points(corners, labels, pad=False)

    def embed_masks(self, masks_b1hw: torch.Tensor | None) -> torch.Tensor:
        """Low-resolution mask logits (B, 1, 4h, 4w) -> dense embedding (B, C, h, w); None -> the
        "no mask" embedding (1, C, h, w), the same for every prompt (the decoder broadcasts it)."""
        if masks_b1hw is not None:
            return self.mask_downscaling(masks_b1hw)
        height, width = self.image_embedding_size
        return self.no_mask_embed.weight.reshape(1, -1, 1, 1).expand(1, -1, height, width)
