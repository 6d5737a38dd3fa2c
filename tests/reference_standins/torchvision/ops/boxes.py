"""Box area and greedy non-maximum suppression on XYXY boxes, with torchvision's semantics."""

import torch


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    """(N, 4) XYXY -> (N,) areas."""
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])


def _pairwise_iou(box: torch.Tensor, others: torch.Tensor) -> torch.Tensor:
    top_left = torch.maximum(box[:2], others[:, :2])
    bottom_right = torch.minimum(box[2:], others[:, 2:])
    intersection = (bottom_right - top_left).clamp(min=0).prod(dim=1)
    union = box_area(box[None])[0] + box_area(others) - intersection
    return intersection / union


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes kept, highest score first; a box is dropped when its IoU with a
    kept, higher-scoring box exceeds ``iou_threshold``."""
    order = torch.argsort(scores, descending=True, stable=True)
    suppressed = torch.zeros(len(order), dtype=torch.bool)
    kept = []
    for rank, index in enumerate(order.tolist()):
        if suppressed[rank]:
            continue
        kept.append(index)
        rest = order[rank + 1 :]
        if len(rest):
            suppressed[rank + 1 :] |= _pairwise_iou(boxes[index], boxes[rest]) > iou_threshold
    return torch.as_tensor(kept, dtype=torch.int64)


def batched_nms(boxes: torch.Tensor, scores: torch.Tensor, idxs: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """NMS applied independently within each category of ``idxs``: boxes of different categories
    are shifted apart so that they never overlap, as torchvision does."""
    if boxes.numel() == 0:
        return torch.empty((0,), dtype=torch.int64)
    offsets = idxs.to(boxes) * (boxes.max() + 1)
    return nms(boxes + offsets[:, None], scores, iou_threshold)
