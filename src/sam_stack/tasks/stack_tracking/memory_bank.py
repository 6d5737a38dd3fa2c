"""An object's memory bank: what a tracked frame of that object reads, and in which slot.

The official predictor keeps the output of every frame it has ever tracked and looks memories
up by frame number, so its state grows with the stack. The lookup only ever reaches a few frames
back, which is what is kept here (seed 004's four lists):

- prompt memories and pointers: one per prompted frame (and per image prior), kept while the
  prompt exists; they do not grow with the stack;
- recent memories and pointers: those of the last frames tracked in the current pass, at most
  ``num_memory_frames - 1`` memories and ``max_pointers - 1`` pointers.

The rules are those of ``SAM2Base._prepare_memory_conditioned_features`` (memory stride 1, no
limit on prompted frames), for frame f tracked with ``step`` = +1 (forward) or -1 (reverse):

- every prompt memory, in temporal slot ``num_memory_frames - 1``;
- the recent memory of frame f - k * step, k = num_memory_frames - 1 ... 1, in slot k - 1
  (missing ones skipped: prompted frames, or the start of the pass);
- the pointers of prompted frames already passed (t <= f forward, t >= f in reverse), at
  distance (f - t) * step (v2.1) or |f - t| (v2); image priors at distance 0;
- the recent pointer of frame f - k * step, k = 1 ... P - 1, at distance k, where
  P = min(num_frames, max_pointers); the scan stops at the edge of the stack.
"""

from collections import deque
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import torch


@dataclass(frozen=True)
class FrameMemory:
    """What a frame leaves for later frames: its memory (1, C_mem, h, w) and pointer (1, C)."""

    memory_bchw: torch.Tensor
    pointer_bc: torch.Tensor


@dataclass(frozen=True)
class MemoryRules:
    """The settings of the lookup (the model's, see ``MemoryArchitecture``).

    num_memory_frames: ``num_maskmem`` (7): prompt memories share the last temporal slot, the
        other frames use the ``num_memory_frames - 1`` slots before it.
    max_pointers: ``max_obj_ptrs_in_encoder`` (16).
    signed_distance: v2.1's signed pointer distances.
    num_frames: frames in the stack.
    """

    num_memory_frames: int
    max_pointers: int
    signed_distance: bool
    num_frames: int

    @property
    def pointer_window(self) -> int:
        """P = min(num_frames, max_pointers): pointers reach P - 1 frames back."""
        return min(self.num_frames, self.max_pointers)

    @property
    def pointer_distance_scale(self) -> int:
        """What pointer distances are divided by before their sine encoding: P - 1 officially,
        but at least 1 so that a one-frame stack tracked from an image prior stays finite."""
        return max(self.pointer_window - 1, 1)


class RecentFrames:
    """The memories and pointers of the last frames tracked in one pass (SAM 2's fixed window)."""

    def __init__(self, rules: MemoryRules) -> None:
        self.rules = rules
        self._memories: deque[tuple[int, torch.Tensor]] = deque(maxlen=rules.num_memory_frames - 1)
        self._pointers: deque[tuple[int, torch.Tensor]] = deque(maxlen=rules.pointer_window - 1)

    def add(self, frame: int, memory: FrameMemory, confident: bool = True) -> None:
        """Remembers a tracked frame; ``confident`` matters only to :class:`ConfidentRecentFrames`."""
        self._memories.append((frame, memory.memory_bchw))
        self._pointers.append((frame, memory.pointer_bc))

    def memories(self, frame: int, step: int) -> list[tuple[torch.Tensor, int]]:
        """[(memory, slot)], oldest first: frame f - k * step goes in slot k - 1."""
        by_frame = dict(self._memories)
        back = range(self.rules.num_memory_frames - 1, 0, -1)
        return [(by_frame[frame - k * step], k - 1) for k in back if frame - k * step in by_frame]

    def pointers(self, frame: int, step: int) -> list[tuple[torch.Tensor, int]]:
        """[(pointer, distance k)], nearest first, for frames f - k * step inside the stack."""
        by_frame = dict(self._pointers)
        found = []
        for k in range(1, self.rules.pointer_window):
            earlier = frame - k * step
            if not 0 <= earlier < self.rules.num_frames:
                break
            if earlier in by_frame:
                found.append((by_frame[earlier], k))
        return found


class ConfidentRecentFrames(RecentFrames):
    """SAMURAI's motion-aware memory: only confident frames' memories are remembered.

    Memories: the ``num_memory_frames - 1`` most recent confident frames, however far back, plus
    the frame just before the current one whether confident or not; slots go by rank, the most
    recent in slot 0 (SAMURAI's ``_prepare_memory_conditioned_features``). Pointers are kept as
    SAM 2 keeps them.
    """

    def __init__(self, rules: MemoryRules) -> None:
        super().__init__(rules)
        self._confident: deque[tuple[int, torch.Tensor]] = deque(maxlen=rules.num_memory_frames - 1)
        self._last: tuple[int, torch.Tensor] | None = None

    def add(self, frame: int, memory: FrameMemory, confident: bool = True) -> None:
        self._pointers.append((frame, memory.pointer_bc))
        self._last = (frame, memory.memory_bchw)
        if confident:
            self._confident.append(self._last)

    def memories(self, frame: int, step: int) -> list[tuple[torch.Tensor, int]]:
        chosen = list(self._confident)
        last_is_kept = chosen and chosen[-1][0] == frame - step
        if self._last is not None and self._last[0] == frame - step and not last_is_kept:
            chosen.append(self._last)
        chosen = chosen[-(self.rules.num_memory_frames - 1) :]
        # Oldest first, as SAM 2's slots are listed; the newest gets slot 0.
        return [(memory, len(chosen) - 1 - index) for index, (_, memory) in enumerate(chosen)]


def select_memory(
    frame: int,
    step: int,
    prompts: Mapping[int, FrameMemory],
    priors: Sequence[FrameMemory],
    recent: RecentFrames,
) -> tuple[list[tuple[torch.Tensor, int]], list[tuple[torch.Tensor, int]]]:
    """What frame ``frame`` reads when tracked with ``step`` -> ([(memory, slot)], [(pointer, distance)]).

    Args:
        prompts: the object's prompted frames, by frame number.
        priors: the object's image priors (prompt memories that belong to no frame).
        recent: the object's recent frames in this pass.
    """
    rules = recent.rules
    prompt_slot = rules.num_memory_frames - 1
    ordered = [prompts[t] for t in sorted(prompts)]
    memories = [(memory.memory_bchw, prompt_slot) for memory in [*priors, *ordered]]
    memories += recent.memories(frame, step)

    pointers = [(prior.pointer_bc, 0) for prior in priors]
    for t in sorted(prompts):
        if (t - frame) * step <= 0:
            distance = (frame - t) * step if rules.signed_distance else abs(frame - t)
            pointers.append((prompts[t].pointer_bc, distance))
    pointers += recent.pointers(frame, step)
    return memories, pointers
