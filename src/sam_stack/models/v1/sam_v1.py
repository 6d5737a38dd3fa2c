"""The SAM v1 network: image encoder, prompt encoder and mask decoder under the official names."""

from torch import nn

from ..common.mask_decoder import MaskDecoder
from ..common.prompt_encoder import PromptEncoder
from .architecture import VitArchitecture
from .image_encoder import VitImageEncoder


class SamV1(nn.Module):
    """Holds the three parts so that ``state_dict()`` has the keys of the official checkpoints."""

    def __init__(self, arch: VitArchitecture) -> None:
        super().__init__()
        grid = arch.image_size // arch.patch_size
        self.arch = arch
        self.image_encoder = VitImageEncoder(arch)
        self.prompt_encoder = PromptEncoder(arch.prompt_dim, (grid, grid), (arch.image_size, arch.image_size))
        self.mask_decoder = MaskDecoder(arch.prompt_dim)
