"""The two-way transformer of SAM's mask decoder, identical in v1 and v2.

Prompt tokens and image tokens attend to each other in turn: tokens read the image, then the
image reads the tokens back, so both the prompt embeddings and the image features are refined.
"""

import torch
from torch import nn

from .attention import Attention
from .mlp import FeedForward


class TwoWayAttentionBlock(nn.Module):
    """Self-attention of the tokens, tokens -> image, a feed-forward on the tokens, image -> tokens.

    Positional encodings are added to queries and keys at every attention (never to values). The
    first block skips them in its self-attention, because its tokens are the raw prompt
    embeddings, which already are positional encodings.
    """

    def __init__(
        self,
        embedding_dim: int,
        num_heads: int,
        mlp_dim: int,
        attention_downsample_rate: int,
        skip_first_layer_pe: bool,
    ) -> None:
        super().__init__()
        self.self_attn = Attention(embedding_dim, num_heads)
        self.norm1 = nn.LayerNorm(embedding_dim)
        self.cross_attn_token_to_image = Attention(embedding_dim, num_heads, attention_downsample_rate)
        self.norm2 = nn.LayerNorm(embedding_dim)
        self.mlp = FeedForward(embedding_dim, mlp_dim, activation=nn.ReLU)
        self.norm3 = nn.LayerNorm(embedding_dim)
        self.cross_attn_image_to_token = Attention(embedding_dim, num_heads, attention_downsample_rate)
        self.norm4 = nn.LayerNorm(embedding_dim)
        self.skip_first_layer_pe = skip_first_layer_pe

    def forward(
        self,
        tokens_bnc: torch.Tensor,
        image_bmc: torch.Tensor,
        tokens_pe_bnc: torch.Tensor,
        image_pe_bmc: torch.Tensor,
    ) -> tuple[torch.Tensor, torch.Tensor]:
        if self.skip_first_layer_pe:
            tokens_bnc = self.self_attn(tokens_bnc, tokens_bnc, tokens_bnc)
        else:
            q = tokens_bnc + tokens_pe_bnc
            tokens_bnc = tokens_bnc + self.self_attn(q, q, tokens_bnc)
        tokens_bnc = self.norm1(tokens_bnc)

        image_with_pe = image_bmc + image_pe_bmc
        q = tokens_bnc + tokens_pe_bnc
        tokens_bnc = self.norm2(tokens_bnc + self.cross_attn_token_to_image(q, image_with_pe, image_bmc))

        tokens_bnc = self.norm3(tokens_bnc + self.mlp(tokens_bnc))

        q = tokens_bnc + tokens_pe_bnc
        image_bmc = self.norm4(image_bmc + self.cross_attn_image_to_token(image_with_pe, q, tokens_bnc))
        return tokens_bnc, image_bmc


class TwoWayTransformer(nn.Module):
    """``depth`` two-way blocks, then a last attention from the tokens to the image."""

    def __init__(
        self,
        depth: int = 2,
        embedding_dim: int = 256,
        num_heads: int = 8,
        mlp_dim: int = 2048,
        attention_downsample_rate: int = 2,
    ) -> None:
        super().__init__()
        self.layers = nn.ModuleList(
            TwoWayAttentionBlock(embedding_dim, num_heads, mlp_dim, attention_downsample_rate, i == 0)
            for i in range(depth)
        )
        self.final_attn_token_to_image = Attention(embedding_dim, num_heads, attention_downsample_rate)
        self.norm_final_attn = nn.LayerNorm(embedding_dim)

    def forward(
        self, image_bchw: torch.Tensor, image_pe_bchw: torch.Tensor, tokens_bnc: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor]:
        """Image features and their encoding (1 or B, C, H, W), prompt tokens (B, N, C) ->
        refined tokens (B, N, C) and refined image tokens (B, H*W, C)."""
        image_bmc = image_bchw.flatten(2).transpose(1, 2)
        image_pe_bmc = image_pe_bchw.flatten(2).transpose(1, 2)
        tokens_pe_bnc = tokens_bnc
        for layer in self.layers:
            tokens_bnc, image_bmc = layer(tokens_bnc, image_bmc, tokens_pe_bnc, image_pe_bmc)
        q = tokens_bnc + tokens_pe_bnc
        tokens_bnc = tokens_bnc + self.final_attn_token_to_image(q, image_bmc + image_pe_bmc, image_bmc)
        return self.norm_final_attn(tokens_bnc), image_bmc
