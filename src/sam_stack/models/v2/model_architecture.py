"""The hyper-parameters of a whole SAM v2 / v2.1 model, and how to read them from its tensors.

:class:`SamV2Architecture` gathers the three things the official config of a model sets: the
image encoder (:class:`~.architecture.HieraArchitecture`, which alone differs between sizes), the
memory parts and the v2 / v2.1 switches of their use (:class:`~.memory.MemoryArchitecture`, which
alone differs between versions), and the ``SAM2Base`` settings around them, which are the same in
every released model (``sam2/configs/sam2*/sam2*_hiera_*.yaml``).
"""

from dataclasses import asdict, dataclass, fields, replace

import torch

from ...errors import CheckpointError
from .architecture import HieraArchitecture, hiera_architecture_from_state_dict
from .memory import OFFICIAL_MEMORY, MemoryArchitecture, memory_architecture_from_state_dict


@dataclass(frozen=True)
class SamV2Architecture:
    """Everything needed to build a SAM v2 / v2.1 network; the defaults are the released models'.

    Parts:
        image_encoder: the Hiera trunk and FPN neck (the size: tiny, small, base_plus, large).
        memory: memory encoder, memory attention and the version's memory settings.

    Settings of the official ``SAM2Base`` (same names), which decide the network's parameters:
        image_size: side of the square input the model was trained on; the prompt encoder's
            default input size (an input of another size can still be used, see ``model.py``).
        backbone_stride: pixels per cell of the image embedding (16).
        use_high_res_features_in_sam: the mask decoder adds the two finer image feature levels
            while upscaling (``sam_mask_decoder.conv_s0`` / ``conv_s1``).
        iou_prediction_use_sigmoid: the IoU head ends in a sigmoid (not stored in any tensor).
        pred_obj_scores, pred_obj_scores_mlp: the decoder predicts whether the object is present,
            with a 3-layer MLP head.
        use_obj_ptrs_in_encoder: the video model turns decoder tokens into object pointers
            (``obj_ptr_proj``, ``mask_downsample``), with a 3-layer MLP when
            ``use_mlp_for_obj_ptr_proj``.
        fixed_no_obj_ptr: an absent object's pointer is the learned ``no_obj_ptr`` alone, rather
            than that added to the decoder's pointer.

    Settings of the official ``SAM2Base`` that only govern tracking (no parameters):
        directly_add_no_mem_embed: frames without memories get ``no_mem_embed`` added to their
            features instead of running the memory attention (also what the image predictor does).
        use_mask_input_as_output_without_sam: a frame prompted with a mask keeps that mask as
            its output instead of running the decoder.
        multimask_output_in_sam, multimask_min_pt_num, multimask_max_pt_num: frames with between
            min and max clicks (a box counts as two) get three candidate masks.
        multimask_output_for_tracking: tracked frames get three candidates too.
        use_multimask_token_for_obj_ptr: the pointer comes from the chosen candidate's token.
        only_obj_ptrs_in_the_past_for_eval: only pointers of frames already passed are attended.
        dynamic_multimask_stability_delta, dynamic_multimask_stability_thresh: when one mask is
            asked for and its stability (IoU of the mask thresholded at +delta and at -delta) is
            below thresh, the best of the three candidates is used instead (set by
            ``build_sam2`` with its default ``apply_postprocessing=True``).
    """

    image_encoder: HieraArchitecture
    memory: MemoryArchitecture
    image_size: int = 1024
    backbone_stride: int = 16
    use_high_res_features_in_sam: bool = True
    iou_prediction_use_sigmoid: bool = True
    pred_obj_scores: bool = True
    pred_obj_scores_mlp: bool = True
    use_obj_ptrs_in_encoder: bool = True
    use_mlp_for_obj_ptr_proj: bool = True
    fixed_no_obj_ptr: bool = True
    directly_add_no_mem_embed: bool = True
    use_mask_input_as_output_without_sam: bool = True
    multimask_output_in_sam: bool = True
    multimask_min_pt_num: int = 0
    multimask_max_pt_num: int = 1
    multimask_output_for_tracking: bool = True
    use_multimask_token_for_obj_ptr: bool = True
    only_obj_ptrs_in_the_past_for_eval: bool = True
    dynamic_multimask_stability_delta: float = 0.05
    dynamic_multimask_stability_thresh: float = 0.98

    @property
    def hidden_dim(self) -> int:
        """Width of the image embedding, the prompt tokens and the object pointers (256)."""
        return self.image_encoder.d_model

    @property
    def version(self) -> str:
        """"v2.1" when the model has v2.1's no-object memory embedding, else "v2"."""
        return "v2.1" if self.memory.no_object_embedding else "v2"

    def to_dict(self) -> dict:
        """Plain Python values that survive JSON and ``torch.load(weights_only=True)``."""
        values = asdict(self)
        values["image_encoder"] = self.image_encoder.to_dict()
        values["memory"] = self.memory.to_dict()
        return values

    @classmethod
    def from_dict(cls, values: dict) -> "SamV2Architecture":
        """Inverse of :meth:`to_dict`; rejects unknown keys so a typo does not pass silently."""
        known = {field.name for field in fields(cls)}
        if unknown := set(values) - known:
            raise CheckpointError(f"unknown SAM v2 architecture fields {sorted(unknown)}; expected some of {sorted(known)}")
        return cls(
            **{
                **values,
                "image_encoder": HieraArchitecture.from_dict(values["image_encoder"]),
                "memory": MemoryArchitecture.from_dict(values["memory"]),
            }
        )


def official_architecture(version: str, image_encoder: HieraArchitecture) -> SamV2Architecture:
    """The released configuration of ``version`` ("v2" or "v2.1") around an image encoder."""
    return SamV2Architecture(image_encoder=image_encoder, memory=OFFICIAL_MEMORY[version])


def samv2_architecture_from_state_dict(state_dict: dict[str, torch.Tensor]) -> tuple[SamV2Architecture, str]:
    """Reads a v2 / v2.1 model's architecture from its tensors -> (architecture, size name).

    The size name is "tiny", "small", "base_plus", "large" or "custom" (see
    :func:`~.architecture.hiera_architecture_from_state_dict`); the version is
    ``architecture.version``. The switches that add parameters are read from which tensors are
    present; the others (``iou_prediction_use_sigmoid``, the tracking settings) are not stored
    in any tensor and are those of the released models.
    """
    version = "v2.1" if "no_obj_embed_spatial" in state_dict else "v2"
    try:
        image_encoder, size = hiera_architecture_from_state_dict(state_dict)
        memory = memory_architecture_from_state_dict(state_dict)
    except KeyError as missing:
        raise CheckpointError(f"these SAM {version} weights are incomplete: tensor {missing} is missing") from None
    pred_obj_scores = "sam_mask_decoder.obj_score_token.weight" in state_dict
    use_obj_ptrs = "mask_downsample.weight" in state_dict
    architecture = replace(
        official_architecture(version, image_encoder),
        memory=memory,
        use_high_res_features_in_sam="sam_mask_decoder.conv_s0.weight" in state_dict,
        pred_obj_scores=pred_obj_scores,
        pred_obj_scores_mlp="sam_mask_decoder.pred_obj_score_head.layers.0.weight" in state_dict,
        use_obj_ptrs_in_encoder=use_obj_ptrs,
        use_mlp_for_obj_ptr_proj="obj_ptr_proj.layers.0.weight" in state_dict,
        # Stored in no tensor; the official code allows it only with both of these.
        fixed_no_obj_ptr=pred_obj_scores and use_obj_ptrs,
    )
    if architecture.hidden_dim != memory.fusion.dim:
        raise CheckpointError(
            f"the image encoder makes {architecture.hidden_dim}-channel features but the memory "
            f"attention reads {memory.fusion.dim} channels; expected them equal"
        )
    return architecture, size
