"""The two multi-layer perceptrons of SAM: the transformer's feed-forward block and the heads."""

import torch
from torch import nn

from .in_place import activate


class FeedForward(nn.Module):
    """Linear -> activation -> linear, the MLP inside every transformer block (keys lin1, lin2)."""

    def __init__(self, dim: int, hidden_dim: int, activation: type[nn.Module] = nn.GELU) -> None:
        super().__init__()
        self.lin1 = nn.Linear(dim, hidden_dim)
        self.lin2 = nn.Linear(hidden_dim, dim)
        self.act = activation()

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.lin2(activate(self.act, self.lin1(x)))


class MLP(nn.Module):
    """``num_layers`` linear layers with an activation (ReLU by default) between them
    (keys layers.0 ... layers.N-1; the activation has no weights).

    Used for the hypernetworks that turn mask tokens into mask weights, the IoU head and, in v2,
    the object-score and object-pointer heads (ReLU), and the feed-forward of the Hiera blocks
    (two layers, GELU).
    """

    def __init__(
        self,
        in_dim: int,
        hidden_dim: int,
        out_dim: int,
        num_layers: int,
        sigmoid_output: bool = False,
        activation: type[nn.Module] = nn.ReLU,
    ) -> None:
        super().__init__()
        dims_in = [in_dim] + [hidden_dim] * (num_layers - 1)
        dims_out = [hidden_dim] * (num_layers - 1) + [out_dim]
        self.layers = nn.ModuleList(nn.Linear(i, o) for i, o in zip(dims_in, dims_out))
        self.act = activation()
        self.sigmoid_output = sigmoid_output

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        last = len(self.layers) - 1
        for i, layer in enumerate(self.layers):
            x = layer(x)
            if i < last:
                x = activate(self.act, x)
        return torch.sigmoid(x) if self.sigmoid_output else x
