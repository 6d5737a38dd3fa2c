"""The size of the image that the SAM v2 encoder sees (``model.input_size``).

The released models were trained on 1024 x 1024 inputs, and the official predictors always
stretch an image to that square. The Hiera encoder works on any height and width that are
multiples of 32 pixels (:attr:`~.architecture.HieraArchitecture.input_size_multiple`), so a
smaller input trades accuracy for speed (at 512 the encoder does about a quarter of the work),
and an input of the image's own shape avoids stretching it. A setting is one of:

- an int S: the image is stretched to S x S (1024, the default, is the official behaviour);
- a pair (h, w): the image is stretched to h x w;
- ``"image"``: each image keeps its own size, rounded up to the next multiples of 32.
"""

import numbers

from ...errors import ImageError

OWN_SIZE = "image"

InputSize = int | tuple[int, int] | str


def checked_input_size(setting: InputSize, multiple: int) -> tuple[int, int] | str:
    """A setting as (h, w) or ``"image"``; raises :class:`ImageError` for a size the encoder
    cannot take."""
    if isinstance(setting, str) and setting == OWN_SIZE:
        return OWN_SIZE
    sides = [setting, setting] if isinstance(setting, numbers.Integral) else setting
    usable = (
        isinstance(sides, (tuple, list))
        and len(sides) == 2
        and all(isinstance(side, numbers.Integral) and not isinstance(side, bool) for side in sides)
        and all(side > 0 and side % multiple == 0 for side in sides)
    )
    if not usable:
        raise ImageError(
            f"found input size {setting!r}; expected a positive multiple of {multiple} pixels, "
            f'a pair (height, width) of such multiples, or "{OWN_SIZE}"'
        )
    return int(sides[0]), int(sides[1])


def input_size_for(setting: tuple[int, int] | str, image_hw: tuple[int, int], multiple: int) -> tuple[int, int]:
    """The (h, w) an image of ``image_hw`` is resized to under a checked setting."""
    if setting == OWN_SIZE:
        return tuple(-(-side // multiple) * multiple for side in image_hw)
    return setting
