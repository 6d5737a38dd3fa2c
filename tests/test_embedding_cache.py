"""``EmbeddingCache``: encodings kept in memory by bytes and on disk as zarr, never used when stale.

The models are the shrunk random-weight ones of the tracker tests (SAM 2.1 at a 128-pixel input)
and of the v1 tests; two v2 models differ only in their random seed.
"""

import shutil

import numpy as np
import pytest
import torch
import zarr

import sam_stack
from official_v1 import SMALL_VIT, build_official_sam, save_official_checkpoint as save_v1
from official_v2 import save_official_checkpoint
from official_v2_video import build_official_video_predictor
from sam_stack.errors import SamStackError
from sam_stack.models.v2.preprocessing import to_model_input
from sam_stack.tasks.embedding_cache import EmbeddingCache
from sam_stack.tasks.embedding_cache_disk import MANIFEST
from sam_stack.tasks.embedding_cache_encode import (
    cached_encode,
    cached_frame_features,
    embedding_key,
    encode_into_cache,
    encoder_input,
    v2_input_size,
)
from sam_stack.tasks.embedding_cache_keys import EmbeddingKey
from sam_stack.tasks.stack_tracking import StackTracker

FRAME_HW = (48, 64)


def load_v2(folder, seed: int):
    official = build_official_video_predictor("v2.1", image_size=128, seed=seed)
    path = folder / f"v2_{seed}.pt"
    save_official_checkpoint(official, path)
    model = sam_stack.load_model(path, device="cpu")
    model.input_size = 128
    return model


@pytest.fixture(scope="module")
def model(tmp_path_factory):
    return load_v2(tmp_path_factory.mktemp("models"), seed=11)


@pytest.fixture(scope="module")
def other_model(tmp_path_factory):
    return load_v2(tmp_path_factory.mktemp("models"), seed=12)


@pytest.fixture(scope="module")
def model_v1(tmp_path_factory):
    path = tmp_path_factory.mktemp("models") / "v1.pth"
    save_v1(build_official_sam(SMALL_VIT, seed=0), path)
    return sam_stack.load_model(path, device="cpu")


def image(seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).integers(0, 256, FRAME_HW, dtype=np.uint8)


def assert_same_encoding(actual, expected) -> None:
    assert torch.equal(actual.features_bchw, expected.features_bchw)
    assert (actual.high_res_features is None) == (expected.high_res_features is None)
    for got, want in zip(actual.high_res_features or (), expected.high_res_features or (), strict=True):
        assert torch.equal(got, want)
    assert tuple(actual.image_size) == tuple(expected.image_size)
    assert tuple(actual.input_size) == tuple(expected.input_size)


def entry_folders(directory) -> list:
    return sorted(directory.glob("*/*.zarr"))


# ------------------------------------------------------------------------------ round trips


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_cached_encodings_equal_the_models_own_bit_for_bit(which, model, model_v1, tmp_path):
    chosen = model if which == "v2" else model_v1
    expected = chosen.encode_image(image())
    cache = EmbeddingCache(directory=tmp_path)
    assert_same_encoding(cached_encode(chosen, image(), cache), expected)  # miss: computed
    assert_same_encoding(cached_encode(chosen, image(), cache), expected)  # memory hit
    from_disk = EmbeddingCache(directory=tmp_path)
    assert_same_encoding(cached_encode(chosen, image(), from_disk), expected)  # disk hit
    assert (cache.stats.misses, cache.stats.memory_hits) == (1, 1)
    assert (from_disk.stats.disk_hits, from_disk.stats.misses) == (1, 0)
    prediction = chosen.predict(cached_encode(chosen, image(), from_disk), points=[[20, 30]])
    np.testing.assert_array_equal(prediction.masks, chosen.predict(expected, points=[[20, 30]]).masks)


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_a_region_is_cached_by_its_pixels_and_keeps_its_place(which, model, model_v1):
    chosen = model if which == "v2" else model_v1
    whole = image()
    region = (8, 4, 40, 36)
    expected = chosen.encode_image(whole, region=region)
    cache = EmbeddingCache()
    assert encoder_input(chosen, whole, region).key not in cache
    assert_same_encoding(cached_encode(chosen, whole, cache, region), expected)
    assert encoder_input(chosen, whole, region).key in cache
    assert encoder_input(chosen, whole).key not in cache  # the whole image is other pixels
    found = cached_encode(chosen, whole, cache, region)
    assert found.region == expected.region
    assert (cache.stats.misses, cache.stats.memory_hits) == (1, 1)
    # The same pixels cut out and encoded as an image of their own share the entry.
    x0, y0, x1, y1 = region
    assert cached_encode(chosen, whole[y0:y1, x0:x1], cache).region is None
    assert cache.stats.memory_hits == 2
    points = [[20, 30]]
    np.testing.assert_array_equal(chosen.predict(found, points=points).masks, chosen.predict(expected, points=points).masks)


@pytest.mark.parametrize("which", ["v2", "v1"])
def test_images_encoded_into_the_cache_ahead_are_their_encodings_bit_for_bit(which, model, model_v1):
    chosen = model if which == "v2" else model_v1
    cache = EmbeddingCache()
    cached_encode(chosen, image(0), cache)
    batch_sizes = []
    hook = chosen.network.image_encoder.register_forward_pre_hook(lambda _, inputs: batch_sizes.append(len(inputs[0])))
    try:
        assert encode_into_cache(chosen, [image(0), image(1), image(2), image(1)], cache) == 2
        assert encode_into_cache(chosen, [image(1), image(2)], cache) == 0
    finally:
        hook.remove()
    # Each alone, as a click encodes it: a pass over several images can round otherwise (at
    # larger inputs than these; see encode_into_cache).
    assert batch_sizes == [1, 1]
    misses = cache.stats.misses
    for seed in (1, 2):
        found, alone = cached_encode(chosen, image(seed), cache), chosen.encode_image(image(seed))
        assert torch.equal(found.features_bchw, alone.features_bchw)
        for got, want in zip(found.high_res_features or (), alone.high_res_features or (), strict=True):
            assert torch.equal(got, want)
        assert (found.image_size, found.input_size) == (alone.image_size, alone.input_size)
    assert cache.stats.misses == misses


def test_bfloat16_encodings_are_kept_apart_from_float32_ones(model, tmp_path):
    cache = EmbeddingCache(directory=tmp_path)
    cached_encode(model, image(), cache)
    model.use_bfloat16 = True
    try:
        expected = model.encode_image(image())
        assert_same_encoding(cached_encode(model, image(), cache), expected)
    finally:
        model.use_bfloat16 = False
    assert cache.stats.misses == 2
    assert len(entry_folders(tmp_path)) == 2


def test_images_encoded_ahead_are_encoded_at_the_precision_their_keys_name(model, monkeypatch):
    """napari's bfloat16 box may be ticked while planes are being encoded ahead: what is stored
    under a float32 key must be float32 features all the same."""
    import sam_stack.tasks.embedding_cache_encode as encode_module

    def key_then_tick_the_box(chosen, picture, region=None):
        seen = encoder_input(chosen, picture, region)
        chosen.use_bfloat16 = True
        return seen

    cache = EmbeddingCache()
    monkeypatch.setattr(encode_module, "encoder_input", key_then_tick_the_box)
    try:
        assert encode_into_cache(model, [image(1), image(2)], cache) == 2
    finally:
        model.use_bfloat16 = False
    monkeypatch.undo()
    float32 = model.encode_features([np.repeat(image(1)[..., None], 3, axis=2)], (128, 128), bfloat16=False)
    found = cached_frame_features(model, image(1), (128, 128), cache)
    assert cache.stats.memory_hits == 1
    assert torch.equal(found.features_bchw, float32.features_bchw)


def test_frame_features_equal_the_networks_and_share_entries_with_images(model, tmp_path):
    cache = EmbeddingCache(directory=tmp_path)
    cached_encode(model, image(), cache)
    features = cached_frame_features(model, image(), (128, 128), cache)
    assert cache.stats.memory_hits == 1
    with torch.inference_mode():
        rgb = np.repeat(image()[..., None], 3, axis=2)
        fresh = model.network.encode_image(to_model_input(rgb, (128, 128), model.device))
    assert torch.equal(features.features_bchw, fresh.features_bchw)
    assert torch.equal(features.position_bchw, fresh.position_bchw)
    for got, want in zip(features.high_res_features, fresh.high_res_features, strict=True):
        assert torch.equal(got, want)


# ------------------------------------------------------------------------------ keys


def test_another_model_or_input_size_or_image_does_not_hit(model, other_model, tmp_path):
    cache = EmbeddingCache(directory=tmp_path)
    cached_encode(model, image(), cache)
    assert_same_encoding(cached_encode(other_model, image(), cache), other_model.encode_image(image()))
    cached_encode(model, image(seed=1), cache)
    model.input_size = 64
    try:
        assert_same_encoding(cached_encode(model, image(), cache), model.encode_image(image()))
    finally:
        model.input_size = 128
    assert (cache.stats.misses, cache.stats.memory_hits, cache.stats.disk_hits) == (4, 0, 0)
    assert len(entry_folders(tmp_path)) == 4


def test_a_foreign_entry_under_our_name_is_rejected(model, other_model, tmp_path):
    """An entry of another model copied to where this model's entry would be is not used."""
    cache = EmbeddingCache(directory=tmp_path)
    cached_encode(other_model, image(), cache)
    rgb = np.repeat(image()[..., None], 3, axis=2)
    ours = cache.disk.path(embedding_key(model, rgb, "float32", v2_input_size(model, FRAME_HW)))
    ours.parent.mkdir(parents=True)
    shutil.copytree(entry_folders(tmp_path)[0], ours)
    fresh = EmbeddingCache(directory=tmp_path)
    assert_same_encoding(cached_encode(model, image(), fresh), model.encode_image(image()))
    assert (fresh.stats.rejected, fresh.stats.disk_hits) == (1, 0)
    reopened = EmbeddingCache(directory=tmp_path)
    cached_encode(model, image(), reopened)
    assert reopened.stats.disk_hits == 1  # the rejected entry was replaced by the right one


@pytest.mark.parametrize("damage", ["truncated chunk", "altered chunk", "old format", "no manifest", "garbage"])
def test_a_damaged_entry_is_rejected_and_replaced(damage, model, tmp_path):
    cached_encode(model, image(), EmbeddingCache(directory=tmp_path))
    (entry,) = entry_folders(tmp_path)
    chunk = next(path for path in (entry / "features_bchw" / "c").rglob("*") if path.is_file())
    if damage == "truncated chunk":
        chunk.write_bytes(chunk.read_bytes()[:-8])
    elif damage == "altered chunk":
        data = bytearray(chunk.read_bytes())
        data[100] ^= 0xFF
        chunk.write_bytes(bytes(data))
    elif damage == "old format":
        group = zarr.open_group(str(entry), mode="r+")
        group.attrs[MANIFEST] = dict(group.attrs[MANIFEST], format=0)
    elif damage == "no manifest":
        del zarr.open_group(str(entry), mode="r+").attrs[MANIFEST]
    else:
        (entry / "zarr.json").write_text("not json")
    cache = EmbeddingCache(directory=tmp_path)
    assert_same_encoding(cached_encode(model, image(), cache), model.encode_image(image()))
    assert (cache.stats.rejected, cache.stats.disk_hits, cache.stats.misses) == (1, 0, 1)
    again = EmbeddingCache(directory=tmp_path)
    cached_encode(model, image(), again)
    assert (again.stats.disk_hits, again.stats.rejected) == (1, 0)


def test_an_entry_without_the_tensors_asked_for_is_rejected(tmp_path):
    cache = EmbeddingCache(directory=tmp_path)
    key = EmbeddingKey("pixels", "model", "float32", (32, 32))
    cache.put(key, {"features_bchw": torch.ones(1, 2, 2, 2)})
    assert EmbeddingCache(directory=tmp_path).get(key, ("features_bchw", "high_res_0_bchw")) is None
    assert EmbeddingCache(directory=tmp_path).get(key, ("features_bchw",))["features_bchw"].sum() == 8


# ------------------------------------------------------------------------------ memory


def tensors(megabytes: int) -> dict[str, torch.Tensor]:
    return {"features_bchw": torch.zeros(megabytes * 2**20 // 4)}


def key(name: str) -> EmbeddingKey:
    return EmbeddingKey(name, "model", "float32", (1024, 1024))


def test_the_byte_budget_evicts_the_least_recently_used():
    cache = EmbeddingCache(max_bytes=3 * 2**20)
    for name in "abc":
        cache.put(key(name), tensors(1))
    assert cache.get(key("a"), ("features_bchw",)) is not None  # a is now the most recent
    cache.put(key("d"), tensors(1))
    assert key("b") not in cache
    assert all(key(name) in cache for name in "acd")
    assert cache.memory_bytes == 3 * 2**20
    cache.put(key("e"), tensors(2))
    assert [name for name in "acde" if key(name) in cache] == ["d", "e"]
    cache.put(key("huge"), tensors(4))
    assert key("huge") not in cache and len(cache) == 2


def test_without_a_directory_nothing_is_written(model, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    cache = EmbeddingCache()
    cached_encode(model, image(), cache)
    assert cache.disk is None and list(tmp_path.iterdir()) == []


def test_a_file_where_the_folder_should_be_is_a_clear_error(tmp_path):
    (tmp_path / "cache").write_text("")
    with pytest.raises(SamStackError, match="expected a folder"):
        EmbeddingCache(directory=tmp_path / "cache")


# ------------------------------------------------------------------------------ the tracker


def test_propagating_again_after_a_correction_takes_every_frame_from_the_cache(model, tmp_path):
    frames = np.random.default_rng(3).integers(0, 256, (3, *FRAME_HW), dtype=np.uint8)
    first = StackTracker(model, frames, embedding_cache=EmbeddingCache(directory=tmp_path))
    first.add_prompt(0, 1, points=[[30, 20]])
    first.run(direction="forward")

    cache = EmbeddingCache(directory=tmp_path)
    trackers = StackTracker(model, frames, embedding_cache=cache), StackTracker(model, frames)
    for tracker in trackers:
        tracker.add_prompt(0, 1, points=[[30, 20]])
        tracker.add_prompt(2, 1, points=[[40, 30]], point_labels=[0])
    corrected, reference = (tracker.run(direction="forward") for tracker in trackers)
    np.testing.assert_array_equal(corrected, reference)
    assert (cache.stats.misses, cache.stats.disk_hits, cache.stats.hit_rate) == (0, 3, 1.0)
