"""``StackTracker`` behaviour: inputs, bounded memory, prompts, cancelling, labels, image priors.

Parity of the masks with the official predictor is in ``test_stack_tracker_parity.py``; SAMURAI
in ``test_stack_tracker_samurai.py``. These tests use the shrunk random-weight model of the
parity tests at a 128-pixel input.
"""

import numpy as np
import pytest
import torch

import sam_stack
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint as save_v1
from official_v2 import save_official_checkpoint
from official_v2_video import build_official_video_predictor
from sam_stack.errors import ImageError, PromptError, SamStackError, UnsupportedModelError
from sam_stack.tasks.embedding_cache_encode import cached_frame_features
from sam_stack.tasks.stack_tracking import StackTracker
from sam_stack.tasks.stack_tracking.holes import FILLED_LOGIT, fill_small_holes
from sam_stack.tasks.stack_tracking.memory_bank import (
    ConfidentRecentFrames,
    FrameMemory,
    MemoryRules,
    RecentFrames,
    select_memory,
)
from test_v2_memory import BANK_SCENARIOS, MAX_POINTERS, NUM_FRAMES, NUM_MASKMEM, select_like_sam2base

FRAME_HW = (48, 64)


def load(tmp_path_factory, version: str):
    official = build_official_video_predictor(version, image_size=128, seed=11)
    path = tmp_path_factory.mktemp(version) / "model.pt"
    save_official_checkpoint(official, path)
    model = sam_stack.load_model(path, device="cpu")
    model.input_size = 128
    return model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load(tmp_path_factory, "v2.1")


@pytest.fixture(scope="module")
def model_v2(tmp_path_factory):
    return load(tmp_path_factory, "v2")


def stack(num_frames: int = 6, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, (num_frames, *FRAME_HW), dtype=np.uint8)


def propagated(tracker, **kwargs) -> dict[int, dict[int, np.ndarray]]:
    return dict(tracker.propagate(**kwargs))


class SliceOnly:
    """An array-like that can only be read one frame at a time, and counts the reads."""

    def __init__(self, frames: np.ndarray) -> None:
        self._frames = frames
        self.shape = frames.shape
        self.reads: list[int] = []

    def __len__(self) -> int:
        return len(self._frames)

    def __getitem__(self, index):
        if not isinstance(index, (int, np.integer)):
            raise AssertionError(f"read {index!r}, more than one frame")
        self.reads.append(int(index))
        return self._frames[index]

    def __array__(self, *args, **kwargs):
        raise AssertionError("the whole stack was loaded")


# ------------------------------------------------------------------------------ the model


def test_a_v1_model_is_refused(tmp_path):
    path = tmp_path / "sam_v1.pth"
    save_v1(build_official_sam(SMALL_VIT), path)
    v1_model = sam_stack.load_model(path, device="cpu")
    with pytest.raises(UnsupportedModelError, match="SAM v2 or v2.1"):
        StackTracker(v1_model, stack())


def test_tracker_is_exported():
    assert sam_stack.StackTracker is StackTracker


# ------------------------------------------------------------------------------ the frames


def as_memmap(frames, tmp_path):
    mapped = np.lib.format.open_memmap(tmp_path / "frames.npy", mode="w+", dtype=frames.dtype, shape=frames.shape)
    mapped[:] = frames
    mapped.flush()
    return np.load(tmp_path / "frames.npy", mmap_mode="r")


def as_dask(frames, tmp_path):
    import dask.array as da

    return da.from_array(frames, chunks=(1, *frames.shape[1:]))


def as_zarr(frames, tmp_path):
    import zarr
    return zarr.array(frames, chunks=(1, *frames.shape[1:]))


@pytest.mark.parametrize("kind", [as_memmap, as_dask, as_zarr, list, SliceOnly])
def test_any_stack_gives_the_same_labels(model, tmp_path, kind):
    frames = stack()
    expected = StackTracker(model, frames)
    expected.add_prompt(1, 1, points=[[30, 20]])
    tracker = StackTracker(model, kind(frames, tmp_path) if kind in (as_memmap, as_dask, as_zarr) else kind(frames))
    tracker.add_prompt(1, 1, points=[[30, 20]])
    np.testing.assert_array_equal(tracker.run(), expected.run())


def test_frames_are_read_one_at_a_time_and_encoded_once_for_all_objects(model):
    frames = SliceOnly(stack())
    tracker = StackTracker(model, frames)
    encode_calls = []
    network = model.network
    original = network.encode_image
    network.encode_image = lambda image: encode_calls.append(1) or original(image)
    try:
        tracker.add_prompt(0, 1, points=[[30, 20]])
        tracker.add_prompt(0, 2, points=[[10, 40]])
        tracker.add_prompt(0, 3, box=[5, 5, 25, 30])
        frames.reads.clear()
        masks = propagated(tracker)
    finally:
        del network.encode_image
    assert sorted(masks) == list(range(6)) and all(list(frame_masks) == [1, 2, 3] for frame_masks in masks.values())
    # Frame 0 was encoded when prompted and is still cached; every other frame once for all.
    assert frames.reads == [1, 2, 3, 4, 5]
    assert len(encode_calls) == 1 + 5


def test_frames_of_another_shape_are_refused(model):
    frames = [np.zeros(FRAME_HW, np.uint8)] * 3 + [np.zeros((10, 10), np.uint8)]
    tracker = StackTracker(model, frames)
    tracker.add_prompt(0, 1, points=[[30, 20]])
    with pytest.raises(ImageError, match="frame 3 has shape"):
        tracker.run()


@pytest.mark.parametrize(
    ("frames", "message"),
    [(np.zeros((0, 4, 4)), "empty stack"), (np.zeros((4, 4)), "frames of shape"), (np.zeros((2, 4, 4, 4)), "frames of shape")],
)
def test_bad_stacks_are_refused(model, frames, message):
    with pytest.raises(ImageError, match=message):
        StackTracker(model, frames)


def test_frames_keep_their_own_shape_with_an_input_of_the_frame_size(model):
    """With ``model.input_size = "image"`` frames are not stretched to a square: 40 x 100 frames
    become 64 x 128 inputs, and the memories a 4 x 8 grid."""
    model.input_size = "image"
    try:
        tracker = StackTracker(model, np.random.default_rng(1).integers(0, 256, (3, 40, 100), dtype=np.uint8))
        tracker.add_prompt(0, 1, points=[[30, 20]])
        labels = tracker.run()
    finally:
        model.input_size = 128
    assert labels.shape == (3, 40, 100)


# ------------------------------------------------------------------------------ the memory


def tagged(frame: int) -> FrameMemory:
    """A stand-in memory whose tensors carry their frame number."""
    return FrameMemory(torch.full((1,), float(frame)), torch.full((1,), float(frame)))


def frames_of(pairs) -> list[tuple[int, int]]:
    return [(int(tensor.item()), number) for tensor, number in pairs]


@pytest.mark.parametrize("version", ["v2", "v2.1"])
@pytest.mark.parametrize("scenario", sorted(BANK_SCENARIOS))
def test_memory_selection_is_sam2base_s(version, scenario):
    """The bank, filled frame by frame as a pass tracks, selects what SAM2Base selects from
    its per-frame dictionaries (``select_like_sam2base`` in test_v2_memory)."""
    setting = BANK_SCENARIOS[scenario]
    frame, reverse = setting["frame_idx"], setting["reverse"]
    signed = version == "v2.1"
    rules = MemoryRules(NUM_MASKMEM, MAX_POINTERS, signed, NUM_FRAMES)
    recent = RecentFrames(rules)
    for tracked in sorted(setting["tracked"], reverse=reverse):
        recent.add(tracked, tagged(tracked))
    prompts = {t: tagged(t) for t in setting["prompted"]}
    memories, pointers = select_memory(frame, -1 if reverse else 1, prompts, [], recent)
    expected_memories, expected_pointers = select_like_sam2base(frame, reverse, setting["prompted"], setting["tracked"], signed)
    assert sorted(frames_of(memories)) == sorted(expected_memories)
    assert sorted(frames_of(pointers)) == sorted(expected_pointers)


def test_recent_frames_are_bounded():
    rules = MemoryRules(NUM_MASKMEM, MAX_POINTERS, True, num_frames=10_000)
    for kind in (RecentFrames, ConfidentRecentFrames):
        recent = kind(rules)
        for frame in range(500):
            recent.add(frame, tagged(frame), confident=frame % 3 == 0)
        assert len(recent.memories(500, 1)) <= NUM_MASKMEM - 1
        assert frames_of(recent.pointers(500, 1)) == [(500 - k, k) for k in range(1, MAX_POINTERS)]
        assert len(recent._memories) <= NUM_MASKMEM - 1 and len(recent._pointers) == MAX_POINTERS - 1


def test_samurai_memories_are_the_latest_confident_frames_plus_the_last():
    recent = ConfidentRecentFrames(MemoryRules(4, MAX_POINTERS, True, num_frames=100))
    for frame, confident in [(10, True), (11, True), (12, False), (13, True), (14, False), (15, False)]:
        recent.add(frame, tagged(frame), confident)
    # Three slots: the last frame (15, not confident) and the two latest confident ones, the
    # newest in slot 0.
    assert frames_of(recent.memories(16, 1)) == [(11, 2), (13, 1), (15, 0)]
    # Two frames later the unconfident frame 15 is no longer the last one.
    assert frames_of(recent.memories(17, 1)) == [(10, 2), (11, 1), (13, 0)]


def test_only_prompts_are_kept_between_propagations(model):
    tracker = StackTracker(model, stack(12))
    tracker.add_prompt(2, 1, points=[[30, 20]])
    tracker.run()
    assert [list(prompts.frames) for prompts in tracker._objects.values()] == [[2]]
    assert len(tracker._encodings) <= 2


# ------------------------------------------------------------------------------ prompts


def test_prompts_return_the_masks_of_their_frame(model):
    tracker = StackTracker(model, stack())
    first = tracker.add_prompt(2, 1, points=[[30, 20]])
    both = tracker.add_prompt(2, 2, box=[5, 5, 25, 30])
    assert list(first) == [1] and list(both) == [1, 2]
    assert both[1].shape == FRAME_HW and both[1].dtype == bool
    assert not (both[1] & both[2]).any()
    other_frame = tracker.add_prompt(4, 1, mask=both[1])
    assert list(other_frame) == [1]


def test_overlapping_objects_keep_their_own_masks_unless_exclusive(model):
    frames = stack(3)
    masks = {}
    for exclusive in (True, False):
        tracker = StackTracker(model, frames, exclusive=exclusive)
        tracker.add_prompt(0, 1, points=[[30, 20]])
        tracker.add_prompt(0, 2, points=[[30, 20]])
        masks[exclusive] = propagated(tracker)
        np.testing.assert_array_equal(tracker.run()[2] > 0, masks[exclusive][2][1] | masks[exclusive][2][2])
    for frame in range(3):
        shared, resolved = masks[False][frame], masks[True][frame]
        np.testing.assert_array_equal(shared[1], shared[2])
        assert not (resolved[1] & resolved[2]).any()
        np.testing.assert_array_equal(resolved[1] | resolved[2], shared[1])


def test_a_prompt_on_a_propagated_frame_becomes_a_conditioning_frame(model):
    tracker = StackTracker(model, stack(8))
    tracker.add_prompt(0, 1, points=[[30, 20]])
    before = propagated(tracker)
    corrected = tracker.add_prompt(4, 1, points=[[10, 40], [50, 10]], point_labels=[1, 0])
    after = propagated(tracker, start=4)
    assert sorted(after) == [4, 5, 6, 7]
    np.testing.assert_array_equal(after[4][1], corrected[1])
    # Propagating from an earlier frame passes through the corrected frame, which keeps its mask.
    again = propagated(tracker)
    np.testing.assert_array_equal(again[4][1], corrected[1])
    assert sorted(before) == sorted(again)


def test_a_new_prompt_replaces_the_earlier_one_on_that_frame(model):
    frames = stack()
    tracker = StackTracker(model, frames)
    tracker.add_prompt(1, 1, points=[[30, 20]])
    replaced = tracker.add_prompt(1, 1, points=[[10, 40]])
    fresh = StackTracker(model, frames).add_prompt(1, 1, points=[[10, 40]])
    np.testing.assert_array_equal(replaced[1], fresh[1])


def test_an_object_first_prompted_later_is_tracked_before_its_prompt(model):
    """Forward from frame 0, object 2 (prompted on frame 3) is tracked on frames 0-2 from its
    later prompt's memory alone, as officially (where this case fails: bfloat16 memories with
    no pointer to promote them to float32 reach the memory attention)."""
    tracker = StackTracker(model, stack())
    tracker.add_prompt(0, 1, points=[[30, 20]])
    tracker.add_prompt(3, 2, points=[[10, 40]])
    masks = propagated(tracker)
    assert all(list(frame_masks) == [1, 2] for frame_masks in masks.values())


def test_removing_prompts_and_objects(model):
    tracker = StackTracker(model, stack())
    tracker.add_prompt(1, 1, points=[[30, 20]])
    tracker.add_prompt(3, 1, points=[[30, 20]])
    tracker.add_prompt(1, 2, points=[[10, 40]])
    tracker.remove_prompt(3, 1)
    assert tracker.object_ids == [1, 2]
    tracker.remove_object(2)
    tracker.remove_prompt(1, 1)
    assert tracker.object_ids == []
    with pytest.raises(PromptError, match="no prompt of object 1 on frame 1"):
        tracker.remove_prompt(1, 1)
    with pytest.raises(PromptError, match="no object 5"):
        tracker.remove_object(5)
    with pytest.raises(PromptError, match="found no prompts"):
        tracker.run()


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda t: t.add_prompt(6, 1, points=[[1, 1]]), "expected an int 0 <= frame < 6"),
        (lambda t: t.add_prompt(-1, 1, points=[[1, 1]]), "expected an int 0 <= frame < 6"),
        (lambda t: t.add_prompt(0, 0, points=[[1, 1]]), "object id 0"),
        (lambda t: t.add_prompt(0, "cell", points=[[1, 1]]), "object id 'cell'"),
        (lambda t: t.add_prompt(0, True, points=[[1, 1]]), "object id True"),
        (lambda t: t.add_prompt(0, 1), "no prompt given"),
        (lambda t: t.add_prompt(0, 1, points=[[100, 1]]), "outside the 64 x 48 image"),
        (lambda t: t.add_prompt(0, 1, box=[1, 1, 1, 5]), "empty box"),
        (lambda t: t.add_prompt(0, 1, points=[[1, 1]], mask=np.ones(FRAME_HW, bool)), "mask together with points"),
        (lambda t: t.add_prompt(0, 1, mask=np.ones((4, 4), bool)), r"expected \(48, 64\)"),
        (lambda t: t.add_image_prior(1, np.zeros((30, 30)), np.ones((20, 30), bool)), r"expected \(30, 30\)"),
        (lambda t: t.propagate(start=9), "expected an int 0 <= frame < 6"),
    ],
)
def test_bad_prompts_are_refused(model, call, message):
    tracker = StackTracker(model, stack())
    tracker.add_prompt(0, 1, points=[[30, 20]])
    with pytest.raises(PromptError, match=message):
        call(tracker)


def test_small_holes_are_filled():
    """Background regions (8-connected, at the border too) of at most ``max_area`` pixels."""
    mask = np.ones((12, 12), bool)
    mask[2:4, 2:6] = False  # a hole of 8 pixels: filled
    mask[7:10, 2:5] = False  # 9 pixels: kept
    mask[6, 8], mask[7, 9] = False, False  # two pixels touching at a corner: one region of 2
    mask[11, 10:12] = False  # 2 pixels at the border: filled too
    logits = torch.from_numpy(np.where(mask, 3.0, -3.0)).float()[None, None]
    filled = fill_small_holes(logits, max_area=8)[0, 0].numpy()
    expected = np.where(mask, 3.0, -3.0)
    expected[2:4, 2:6] = expected[6, 8] = expected[7, 9] = FILLED_LOGIT
    expected[11, 10:12] = FILLED_LOGIT
    np.testing.assert_array_equal(filled, expected.astype(np.float32))
    assert fill_small_holes(logits, max_area=0) is logits


# ------------------------------------------------------------------------------ propagation


def test_run_labels_every_frame_from_the_prompts_outwards(model):
    frames = stack(7)
    tracker = StackTracker(model, frames)
    tracker.add_prompt(3, 4, points=[[30, 20]])
    tracker.add_prompt(3, 9, box=[2, 2, 20, 20])
    labels = tracker.run()
    assert labels.dtype == np.uint32 and labels.shape == (7, *FRAME_HW)
    forward, backward = propagated(tracker), propagated(tracker, start=3, reverse=True)
    assert sorted(forward) == [3, 4, 5, 6] and sorted(backward) == [0, 1, 2, 3]
    for frame in range(7):
        masks = (forward if frame >= 3 else backward)[frame]
        expected = np.where(masks[4], 4, 0) + np.where(masks[9], 9, 0)
        np.testing.assert_array_equal(labels[frame], expected)
    assert set(np.unique(labels)) <= {0, 4, 9}

    forward_only = tracker.run("forward")
    assert not forward_only[:3].any()
    np.testing.assert_array_equal(forward_only[3:], labels[3:])
    backward_only = tracker.run("backward")
    np.testing.assert_array_equal(backward_only[:4], labels[:4])
    with pytest.raises(SamStackError, match="direction 'up'"):
        tracker.run("up")


def test_bfloat16_runs_the_encoder_and_memory_attention_in_bfloat16_with_close_masks(model):
    frames = stack(6)
    network = model.network
    seen = {}
    hooks = [
        # A hook that returns something replaces the output: this one returns None.
        module.register_forward_hook(lambda module, args, output, name=name: seen.update({name: output.dtype}))
        for name, module in (
            ("trunk", network.image_encoder.trunk.blocks[0].mlp.layers[0]),
            ("memory attention", network.memory_attention.layers[0].linear1),
        )
    ]
    cache = sam_stack.EmbeddingCache()
    model.use_bfloat16 = True
    try:
        tracker = StackTracker(model, frames, embedding_cache=cache)
    finally:
        model.use_bfloat16 = False  # the tracker keeps the setting it was made with
    try:
        tracker.add_prompt(0, 1, points=[[30, 20]])
        in_bfloat16 = tracker.run("forward")
    finally:
        for hook in hooks:
            hook.remove()
    assert seen == {"trunk": torch.bfloat16, "memory attention": torch.bfloat16}
    misses = cache.stats.misses
    cached_frame_features(model, frames[1], (128, 128), cache, bfloat16=True)
    assert cache.stats.misses == misses  # the frames were cached as bfloat16 encodings

    tracker = StackTracker(model, frames)
    tracker.add_prompt(0, 1, points=[[30, 20]])
    in_float32 = tracker.run("forward")
    for frame in range(len(frames)):
        union = np.logical_or(in_bfloat16[frame], in_float32[frame]).sum()
        both = np.logical_and(in_bfloat16[frame], in_float32[frame]).sum()
        assert union > 0 and both / union >= 0.9, f"frame {frame}: IoU {both / union:.3f}"


def test_reverse_starts_at_the_latest_prompt(model):
    tracker = StackTracker(model, stack())
    tracker.add_prompt(1, 1, points=[[30, 20]])
    tracker.add_prompt(4, 1, points=[[30, 20]])
    assert [frame for frame, _ in tracker.propagate(reverse=True)] == [4, 3, 2, 1, 0]
    assert [frame for frame, _ in tracker.propagate()] == [1, 2, 3, 4, 5]


def test_closing_a_propagation_leaves_the_tracker_usable(model):
    frames = stack()
    tracker = StackTracker(model, frames)
    tracker.add_prompt(0, 1, points=[[30, 20]])
    propagation = tracker.propagate()
    next(propagation), next(propagation)
    # A prompt added while a propagation is under way applies to the next one.
    tracker.add_prompt(2, 2, points=[[10, 40]])
    assert list(next(propagation)[1]) == [1]
    propagation.close()

    fresh = StackTracker(model, frames)
    fresh.add_prompt(0, 1, points=[[30, 20]])
    fresh.add_prompt(2, 2, points=[[10, 40]])
    np.testing.assert_array_equal(tracker.run(), fresh.run())


def test_an_interrupted_run_returns_nothing_and_the_tracker_goes_on(model):
    frames = stack()
    reads = []

    class Interrupting(SliceOnly):
        def __getitem__(self, index):
            reads.append(index)
            if len(reads) == 4:
                raise KeyboardInterrupt
            return super().__getitem__(index)

    tracker = StackTracker(model, Interrupting(frames))
    tracker.add_prompt(0, 1, points=[[30, 20]])
    with pytest.raises(KeyboardInterrupt):
        tracker.run()
    expected = StackTracker(model, frames)
    expected.add_prompt(0, 1, points=[[30, 20]])
    np.testing.assert_array_equal(tracker.run(), expected.run())


# ------------------------------------------------------------------------------ image priors


def test_an_image_prior_tracks_like_a_mask_prompt_on_that_image(model_v2):
    """v2 gives object pointers no temporal encoding, so a prior made of frame 0 and a mask
    prompt on frame 0 leave exactly the same memory for frames 1 onwards."""
    frames = stack(5)
    mask = np.zeros(FRAME_HW, bool)
    mask[10:30, 20:50] = True
    prompted = StackTracker(model_v2, frames)
    prompted.add_prompt(0, 1, mask=mask)
    with_prior = StackTracker(model_v2, frames)
    with_prior.add_image_prior(1, frames[0], mask)
    expected = propagated(prompted, start=1)
    for frame, masks in propagated(with_prior, start=1).items():
        np.testing.assert_array_equal(masks[1], expected[frame][1])


def test_an_object_with_priors_only_is_tracked_through_the_whole_stack(model):
    image = np.random.default_rng(5).integers(0, 65535, (70, 50), dtype=np.uint16)
    mask = np.zeros((70, 50), bool)
    mask[20:50, 10:40] = True
    tracker = StackTracker(model, stack())
    tracker.add_image_prior(3, image, mask)
    assert [frame for frame, _ in tracker.propagate()] == list(range(6))
    assert [frame for frame, _ in tracker.propagate(reverse=True)] == list(range(5, -1, -1))
    assert set(np.unique(tracker.run())) <= {0, 3}
