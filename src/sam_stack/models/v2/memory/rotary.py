"""Two-dimensional (axial) rotary position encoding, as used by SAM v2's memory attention.

Rotary encoding (RoPE) gives attention a sense of position by rotating queries and keys rather
than by adding anything to the tokens: the channels of a head are read as D / 2 complex numbers
and number ``f`` is multiplied by ``exp(i * angle_f)``, where the angle grows with the token's
position. The dot product of a rotated query and a rotated key then depends on the difference of
their positions only.

SAM v2 makes it two-dimensional by splitting the D / 2 complex channels in two halves: the
first half turns with the token's column (x), the second with its row (y). Both halves use the
same D / 4 frequencies ``1 / theta ** (4k / D)``, k = 0 ... D/4 - 1 (``compute_axial_cis`` in
``sam2/modeling/position_encoding.py``).

The angles depend only on the grid, so each grid's table of rotations is computed once and
kept. The official code computes one table for 64 x 64 (1024-pixel inputs) at construction and
recomputes it whenever the token count changes, assuming a square grid; here the table is keyed
by (height, width), so any grid, square or not, gets its own.
"""

import torch
from torch import nn


class AxialRotaryEncoding(nn.Module):
    """Builds and caches the rotation table of a token grid for heads of width ``head_dim``.

    It has no parameters: nothing of it appears in a state dict.

    Args:
        head_dim: channels per attention head (a multiple of 4: x and y each get D / 4 complex
            channels).
        theta: base of the geometric progression of frequencies (10000 in every official model).
    """

    def __init__(self, head_dim: int, theta: float = 10000.0) -> None:
        super().__init__()
        if head_dim % 4:
            raise ValueError(f"rotary encoding needs a head width divisible by 4, got {head_dim}")
        self.head_dim = head_dim
        self.theta = theta
        self._tables: dict[tuple[int, int, torch.device], torch.Tensor] = {}

    def extra_repr(self) -> str:
        return f"head_dim={self.head_dim}, theta={self.theta}"

    def table(self, height: int, width: int, device: torch.device | str = "cpu") -> torch.Tensor:
        """Rotations of an H x W grid -> complex64 (H * W, head_dim / 2), tokens in row-major order.

        Computed in float32 on the CPU, then moved, as the official code does, so the angles are
        the same numbers whatever the device.
        """
        key = (height, width, torch.device(device))
        if key not in self._tables:
            self._tables[key] = self._compute(height, width).to(device)
        return self._tables[key]

    def _compute(self, height: int, width: int) -> torch.Tensor:
        quarter = self.head_dim // 4
        exponents = torch.arange(0, self.head_dim, 4, dtype=torch.float32)[:quarter] / self.head_dim
        frequencies_f = 1.0 / self.theta**exponents

        columns_w = torch.arange(width, dtype=torch.float32)
        rows_h = torch.arange(height, dtype=torch.float32)
        x_angles_hwf = torch.outer(columns_w, frequencies_f).expand(height, width, quarter)
        y_angles_hwf = torch.outer(rows_h, frequencies_f)[:, None, :].expand(height, width, quarter)
        angles_nd = torch.cat([x_angles_hwf, y_angles_hwf], dim=-1).reshape(height * width, 2 * quarter)
        return torch.polar(torch.ones_like(angles_nd), angles_nd)


def rotate(x_bhnd: torch.Tensor, table_nd: torch.Tensor) -> torch.Tensor:
    """Applies a grid's rotations to queries or keys of one or several frames of that grid.

    Args:
        x_bhnd: (B, heads, R * N, D) tokens of R consecutive frames, each an N-token grid.
            Several frames arise in cross-attention to memories: every memory frame is a grid
            like the image, and its tokens get the same rotations as the image's (the official
            ``rope_k_repeat``).
        table_nd: complex (N, D / 2) rotations from :meth:`AxialRotaryEncoding.table`.

    Returns:
        (B, heads, R * N, D) rotated tokens, in ``x_bhnd``'s dtype. The rotation is done in
        float32, as in the official code, whatever the input dtype.
    """
    batch, heads, tokens, dim = x_bhnd.shape
    grid_tokens = table_nd.shape[0]
    if tokens % grid_tokens:
        raise ValueError(
            f"{tokens} tokens to rotate are not whole frames of the {grid_tokens}-token grid"
        )
    # Channels (2f, 2f + 1) are the real and imaginary parts of complex channel f; reading them so
    # is a view, and splitting the token axis into (frames, grid) lets one table serve every frame
    # by broadcasting instead of repeating it.
    pairs = x_bhnd.float().reshape(batch, heads, tokens // grid_tokens, grid_tokens, dim // 2, 2)
    rotated = torch.view_as_complex(pairs) * table_nd
    return torch.view_as_real(rotated).reshape(batch, heads, tokens, dim).type_as(x_bhnd)
