"""Show the position encodings that SAM v1 and SAM v2 add to their image tokens as images
(seed 002, "ViT position encoding visualization").

    python examples/position_encodings.py --model sam-vit-b sam2.1-hiera-tiny --out encodings/ --show

Before the first transformer block, each image token gets a learned vector saying where it is.
Drawn one channel at a time, they look very different: SAM v1 learned one vector per 16 x 16
patch of a 1024 input; SAM v2 adds a smooth background, resized to the token grid, and a small
pattern repeated in every attention window. For each model, OUT gets NAME_channelC.png (channel
C of the encoding) and NAME_norm.png (the length of each token's vector), coloured from dark
(low) to yellow (high). --input-size shows the encodings for another input side (SAM v1's are
resized bicubically; SAM v2's are made as its encoder makes them). With --show and napari
installed, the encodings open in napari with a slider over the channels.

The encodings are read from ``model.network``, the torch modules under the public API.
"""

import argparse
import sys
from pathlib import Path

import cv2
import numpy as np
import torch
from torch.nn import functional as F

import sam_stack

HIERA_PATCH = 4  # SAM v2's first tokens cover 4 x 4 pixels


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", nargs="+", required=True, help="catalog names or checkpoint files (v1, v2 or both)")
    parser.add_argument("--input-size", type=int, default=1024, help="input side in pixels, a multiple of 32 (default 1024)")
    parser.add_argument("--channel", type=int, default=0, help="the channel drawn into NAME_channelC.png (default 0)")
    parser.add_argument("--out", required=True, type=Path, help="folder for the PNG images")
    parser.add_argument("--show", action="store_true", help="also open the encodings in napari")
    args = parser.parse_args(argv)

    args.out.mkdir(parents=True, exist_ok=True)
    encodings = {}
    for source in args.model:
        model = sam_stack.load_model(source, device="cpu")
        name = f"{Path(source).stem} ({model.version})"
        encoding_hwc = position_encoding_hwc(model, args.input_size).numpy()
        encodings[name] = encoding_hwc
        stem = Path(source).stem
        channel = min(args.channel, encoding_hwc.shape[2] - 1)
        cv2.imwrite(str(args.out / f"{stem}_channel{channel}.png"), coloured(encoding_hwc[..., channel]))
        cv2.imwrite(str(args.out / f"{stem}_norm.png"), coloured(np.linalg.norm(encoding_hwc, axis=2)))
        print(f"{name}: {encoding_hwc.shape[0]} x {encoding_hwc.shape[1]} tokens, {encoding_hwc.shape[2]} channels")
    if args.show:
        show_in_napari(encodings)
    return 0


@torch.inference_mode()
def position_encoding_hwc(model, input_side: int) -> torch.Tensor:
    """The encoding added to the image tokens of an ``input_side`` square input -> (h, w, C)."""
    encoder = model.network.image_encoder
    if model.version == "v1":
        grid = input_side // encoder.arch.patch_size
        learned_bchw = encoder.pos_embed.permute(0, 3, 1, 2)
        return F.interpolate(learned_bchw, size=(grid, grid), mode="bicubic")[0].permute(1, 2, 0)
    grid = input_side // HIERA_PATCH
    return encoder.trunk.position_embedding(grid, grid)[0]


def coloured(values_hw: np.ndarray) -> np.ndarray:
    """Values stretched from their minimum to their maximum, in the viridis colour map (BGR)."""
    low, high = values_hw.min(), values_hw.max()
    scaled = np.zeros(values_hw.shape, np.uint8) if high == low else ((values_hw - low) / (high - low) * 255).astype(np.uint8)
    return cv2.applyColorMap(scaled, cv2.COLORMAP_VIRIDIS)


def show_in_napari(encodings: dict[str, np.ndarray]) -> None:
    try:
        import napari
    except ImportError:
        print("napari is not installed: pip install napari[all] to see the encodings there", file=sys.stderr)
        return
    viewer = napari.Viewer(title="position encodings")
    for name, encoding_hwc in encodings.items():
        # Channels first, so napari's slider walks through them; each channel is scaled on its own.
        channels_chw = encoding_hwc.transpose(2, 0, 1)
        low = channels_chw.min(axis=(1, 2), keepdims=True)
        spread = np.maximum(channels_chw.max(axis=(1, 2), keepdims=True) - low, 1e-12)
        viewer.add_image((channels_chw - low) / spread, name=name, colormap="viridis", contrast_limits=(0, 1))
        viewer.add_image(np.linalg.norm(encoding_hwc, axis=2), name=f"{name} norm", colormap="viridis", visible=False)
    napari.run()


if __name__ == "__main__":
    sys.exit(main())
