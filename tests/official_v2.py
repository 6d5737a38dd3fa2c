"""Official SAM2 / SAM2.1 models with random weights, saved in the official checkpoint format.

The official ``SAM2Base`` is built as ``sam2.build_sam.build_sam2`` builds it (hydra ``compose``
of the released yaml configs, with the predictor's post-processing defaults), optionally with
overrides that shrink it; every tensor is then re-drawn from a seeded generator (many start at
0, 1 or 1e-6, which would hide mistakes such as a swapped norm or a missing bias), and the state
dict is saved as the released ``.pt`` files are: ``{"model": state_dict}``.
"""

import torch

CONFIG_FILES = {
    ("v2", "tiny"): "configs/sam2/sam2_hiera_t.yaml",
    ("v2", "small"): "configs/sam2/sam2_hiera_s.yaml",
    ("v2", "base_plus"): "configs/sam2/sam2_hiera_b+.yaml",
    ("v2", "large"): "configs/sam2/sam2_hiera_l.yaml",
    ("v2.1", "tiny"): "configs/sam2.1/sam2.1_hiera_t.yaml",
    ("v2.1", "small"): "configs/sam2.1/sam2.1_hiera_s.yaml",
    ("v2.1", "base_plus"): "configs/sam2.1/sam2.1_hiera_b+.yaml",
    ("v2.1", "large"): "configs/sam2.1/sam2.1_hiera_l.yaml",
}

# A 1-1-2-1 Hiera of width 24 (query pooling at every stage change, windows with padding at 1024,
# one global block) and one memory-attention layer keep the everyday suite fast while running
# every code path; the prompt encoder and mask decoder stay full size (256 channels). Its
# hyper-parameters that no tensor holds are those sam_stack assumes for a custom Hiera, so the
# architecture is read back from the weights alone.
SMALL_OVERRIDES = [
    "++model.image_encoder.trunk.embed_dim=24",
    "++model.image_encoder.trunk.stages=[1,1,2,1]",
    "++model.image_encoder.trunk.global_att_blocks=[3]",
    "++model.image_encoder.neck.backbone_channel_list=[192,96,48,24]",
    "++model.memory_attention.num_layers=1",
]


def randomise_(module: torch.nn.Module, seed: int) -> None:
    """Refills every parameter and buffer with seeded Gaussian noise.

    Matrices and kernels get std 1 / sqrt(fan-in), which keeps activations of order one through
    the network; norm weights (the only 1-D ``weight`` tensors) get 1 + N(0, 0.2^2), so that
    norms do not flip or squash features and the prompts visibly steer the masks; other vectors
    (biases, embeddings) get std 0.5. The random Fourier matrices of the prompt encoder get unit
    Gaussian frequencies, as the official initialisation draws them, from a generator of their own
    (so that the other tensors stay as this seed has always made them); left as drawn at build
    time, they made every process build another model.
    """
    generator = torch.Generator().manual_seed(seed)
    frequencies = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in module.state_dict().items():
            if name.endswith("positional_encoding_gaussian_matrix"):
                tensor.copy_(torch.randn(tensor.shape, generator=frequencies))
                continue
            is_norm_weight = tensor.ndim == 1 and name.endswith(".weight")
            std = tensor[0].numel() ** -0.5 if tensor.ndim > 1 else 0.2 if is_norm_weight else 0.5
            tensor.copy_(torch.randn(tensor.shape, generator=generator) * std + (1.0 if is_norm_weight else 0.0))


def build_official_sam2(version: str, size: str = "tiny", seed: int = 0, small: bool = False, image_size: int = 1024):
    """The official ``SAM2Base`` of ``version`` ("v2" or "v2.1") and ``size`` with random weights,
    in eval mode on the CPU; ``small`` shrinks it (see ``SMALL_OVERRIDES``), ``image_size``
    changes the input side it is built for."""
    from sam2.build_sam import build_sam2

    overrides = (SMALL_OVERRIDES if small else []) + [f"++model.image_size={image_size}"]
    model = build_sam2(CONFIG_FILES[version, size], ckpt_path=None, device="cpu", hydra_overrides_extra=overrides)
    randomise_(model, seed)
    return model.eval()


def save_official_checkpoint(model: torch.nn.Module, path) -> None:
    """Writes ``{"model": state_dict}``, as the released ``sam2*_hiera_*.pt`` files are."""
    torch.save({"model": model.state_dict()}, path)


def official_predictor(model):
    """``SAM2ImagePredictor`` with its defaults, its feature sizes set for the model's input side
    (the predictor hard-codes those of a 1024 input)."""
    from sam2.sam2_image_predictor import SAM2ImagePredictor

    predictor = SAM2ImagePredictor(model)
    grid = model.image_size // model.backbone_stride
    predictor._bb_feat_sizes = [(4 * grid, 4 * grid), (2 * grid, 2 * grid), (grid, grid)]
    return predictor
