"""Every shell command in README.md and examples/README.md is run here, or checked in a defined
way when running it needs what the tests cannot have (the package index, a CI machine, real-size
model weights). A command that no rule below covers fails the test, so a command added to a
README without being covered is caught.

The rules, by what the command starts with:

- ``sam-stack ...`` runs in this process (``sam_stack.cli.main``) in a folder holding the input
  files the READMEs name; catalog names stand for tiny random-weight models of the same version,
  put in a temporary cache as if downloaded. It must exit 0 and write its ``--out``.
  ``sam-stack benchmark`` without ``--help`` times every catalog model at full size: its
  arguments are parsed only (``--help`` appended, so a wrong argument still fails).
- ``python examples/NAME.py ...`` runs the example's ``main`` the same way (``--show`` opens
  napari without its event loop); ``speed.py`` times full-size models, so it is parsed only.
- ``python benchmarks/NAME.py ...`` times real-size models: parsed only.
- ``napari -w napari-sam-stack`` docks the plugin's widget in a new viewer, as napari's ``-w``.
- ``pip install`` / ``python3 -m pip install``: every requirement must be this project with an
  extra that pyproject.toml defines, ``torch`` pinned as tox.ini pins it, or ``tox``.
- ``python3 -m tox ...``: the README's test command must be the line ``.ci/run`` runs, and any
  ``-e ENV`` an environment of tox.ini.

The README's Python blocks run one after the other in one namespace, as a reader pasting them
into one session would, in the same folder and with the same stand-ins.
"""

import configparser
import hashlib
import json
import re
import runpy
import shlex
import shutil
import sys
import tomllib
from dataclasses import replace
from pathlib import Path

import cv2
import numpy as np
import pytest
import tifffile
from tiny_models import fast_v1_file, fast_v2_file, official_v1_file

from sam_stack.cli import main as sam_stack_main
from sam_stack.models.catalog import CATALOG

ROOT = Path(__file__).resolve().parents[1]
READMES = [ROOT / "README.md", ROOT / "examples" / "README.md"]
SHELL_LANGUAGES = ("bash", "sh", "shell", "console")
PARSE_ONLY_EXAMPLES = ("speed.py",)


def readme_commands() -> list[tuple[str, str]]:
    """(README name, command) for every line of every shell code block, backslash continuations
    joined; a command in both READMEs is listed once."""
    commands, seen = [], set()
    for readme in READMES:
        blocks = re.findall(r"^```(\w*)\n(.*?)^```", readme.read_text(encoding="utf-8"), flags=re.S | re.M)
        for language, body in blocks:
            if language not in SHELL_LANGUAGES:
                continue
            for line in body.replace("\\\n", " ").splitlines():
                if line.strip() and not line.lstrip().startswith("#") and line.strip() not in seen:
                    seen.add(line.strip())
                    commands.append((readme.relative_to(ROOT).as_posix(), line.strip()))
    return commands


def needs_napari(command: str) -> bool:
    return command.startswith("napari") or "--show" in command


COMMANDS = [
    pytest.param(command, id=f"{readme}: {command}", marks=[pytest.mark.gui] if needs_napari(command) else [])
    for readme, command in readme_commands()
]


@pytest.fixture(scope="module")
def models(tmp_path_factory):
    """Tiny stand-ins for each catalog version: {"v1": path, "v2": path, "v2.1": path}."""
    folder = tmp_path_factory.mktemp("readme_models")
    return {
        "v1": fast_v1_file(folder / "v1.pt"),
        "v2": fast_v2_file(folder / "v2.pt", version="v2"),
        "v2.1": fast_v2_file(folder / "v2.1.pt", version="v2.1"),
        "official v1": official_v1_file(folder / "sam_vit_b_01ec64.pth"),
    }


@pytest.fixture
def workspace(models, tmp_path, monkeypatch):
    """A folder with the files the READMEs' commands read, as the current folder, and a cache in
    which every catalog name is a tiny model of its version."""
    cache = tmp_path / "cache"
    (cache / "models").mkdir(parents=True)
    monkeypatch.setenv("SAM_STACK_CACHE", str(cache))
    for name, entry in list(CATALOG.items()):
        stand_in = cache / "models" / entry.file_name
        shutil.copyfile(models[entry.version], stand_in)
        data = stand_in.read_bytes()
        monkeypatch.setitem(CATALOG, name, replace(entry, num_bytes=len(data), sha256=hashlib.sha256(data).hexdigest()))
    work = tmp_path / "work"
    work.mkdir()
    write_inputs(work, models["official v1"])
    monkeypatch.chdir(work)
    return work


def write_inputs(folder: Path, v1_checkpoint: Path) -> None:
    """The inputs the READMEs' commands name, sized for their coordinates (up to x 200, y 150)."""
    rng = np.random.default_rng(0)
    cv2.imwrite(str(folder / "cells.png"), rng.integers(0, 256, (120, 160, 3), dtype=np.uint8))
    cv2.imwrite(str(folder / "photo.jpg"), rng.integers(0, 256, (240, 320, 3), dtype=np.uint8))
    tifffile.imwrite(folder / "stack.tif", rng.integers(0, 256, (4, 120, 160), dtype=np.uint8), photometric="minisblack")
    tifffile.imwrite(folder / "slide.tif", rng.integers(0, 65536, (64, 80), dtype=np.uint16))
    mask = np.zeros((120, 160), np.uint8)
    mask[50:100, 90:140] = 255
    cv2.imwrite(str(folder / "mask.png"), mask)
    (folder / "photos").mkdir()
    cv2.imwrite(str(folder / "photos" / "photo.png"), rng.integers(0, 256, (48, 64, 3), dtype=np.uint8))
    objects = [{"id": 1, "frame": 0, "points": [[120, 80], [60, 40]], "labels": [1, 0]}, {"id": 2, "frame": 2, "box": [100, 60, 150, 110]}]
    (folder / "prompts.json").write_text(json.dumps({"objects": objects}))
    shutil.copyfile(v1_checkpoint, folder / v1_checkpoint.name)


def readme_python_blocks() -> list[str]:
    """The ``python`` code blocks of README.md, in order."""
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    return re.findall(r"^```python\n(.*?)^```", text, flags=re.S | re.M)


def test_readme_python_blocks_run(workspace):
    blocks = readme_python_blocks()
    assert len(blocks) >= 2
    namespace = {"__name__": "readme"}
    for number, block in enumerate(blocks, start=1):
        exec(compile(block, f"README.md python block {number}", "exec"), namespace)
    # What the blocks' comments promise.
    assert namespace["prediction"].masks.shape == (3, 480, 640)
    assert namespace["labels"].dtype == np.uint32
    assert namespace["labels"].shape == namespace["frames"].shape[:3]


def test_the_readmes_have_commands():
    commands = [command for _, command in readme_commands()]
    assert any(command.startswith("sam-stack propagate") for command in commands)
    assert any(command.startswith("python examples/") for command in commands)


@pytest.mark.parametrize("command", COMMANDS)
def test_readme_command(command, request, monkeypatch):
    for part in split_chain(shlex.split(command, comments=True)):
        check(part, command, request, monkeypatch)


def split_chain(words: list[str]) -> list[list[str]]:
    """``a && b`` -> [a, b]."""
    parts = [[]]
    for word in words:
        if word == "&&":
            parts.append([])
        else:
            parts[-1].append(word)
    return parts


def check(words: list[str], command: str, request, monkeypatch) -> None:
    """Runs or checks one command of a ``&&`` chain (``command``: the whole line)."""
    program = words[0]
    if program == "sam-stack":
        run_sam_stack(words[1:], request)
    elif program in ("python", "python3") and words[1].startswith("examples/"):
        run_example(words[1], words[2:], request, monkeypatch)
    elif program in ("python", "python3") and words[1].startswith("benchmarks/"):
        parse_only_script(ROOT / words[1], words[2:], monkeypatch)
    elif program == "napari":
        open_napari(words[1:], request)
    elif words[:3] == ["python3", "-m", "pip"] or program == "pip":
        check_pip_install(words[words.index("install") + 1 :])
    elif words[:3] == ["python3", "-m", "tox"]:
        check_tox(words, command)
    else:
        pytest.fail(f"no rule in {Path(__file__).name} covers the README command {shlex.join(words)!r}")


def run_sam_stack(arguments: list[str], request) -> None:
    if arguments[:1] == ["benchmark"] and "--help" not in arguments:
        arguments = [*arguments, "--help"]
    if "--help" in arguments:
        with pytest.raises(SystemExit) as exited:
            sam_stack_main(arguments)
        assert exited.value.code == 0
        return
    request.getfixturevalue("workspace")
    assert sam_stack_main(arguments) == 0, f"sam-stack {shlex.join(arguments)} failed"
    assert_out_written(arguments)


def run_example(script: str, arguments: list[str], request, monkeypatch) -> None:
    path = ROOT / script
    if path.name in PARSE_ONLY_EXAMPLES:
        parse_only_script(path, arguments, monkeypatch)
        return
    request.getfixturevalue("workspace")
    if "--show" in arguments:
        import napari

        # The fixture's viewers are closed, and napari's state reset, after the test.
        monkeypatch.setattr(napari, "Viewer", request.getfixturevalue("make_napari_viewer"))
        monkeypatch.setattr(napari, "run", lambda: None)
    assert runpy.run_path(str(path))["main"](arguments) == 0
    assert_out_written(arguments)


def parse_only_script(path: Path, arguments: list[str], monkeypatch) -> None:
    """Runs the script as ``__main__`` with ``--help`` after the README's arguments: argparse
    checks each argument before it reaches ``--help``, then prints the help and exits 0."""
    assert path.is_file(), f"no script {path}"
    monkeypatch.setattr(sys, "argv", [str(path), *arguments, "--help"])
    monkeypatch.setattr(sys, "path", list(sys.path))  # the benchmarks put their helpers on the path
    with pytest.raises(SystemExit) as exited:
        runpy.run_path(str(path), run_name="__main__")
    assert exited.value.code in (0, None)


def open_napari(arguments: list[str], request) -> None:
    assert arguments[0] in ("-w", "--with") and len(arguments) == 2, "expected napari -w PLUGIN"
    viewer = request.getfixturevalue("make_napari_viewer")()
    _, widget = viewer.window.add_plugin_dock_widget(arguments[1])
    assert type(widget).__name__ == "SamStackWidget"


def check_pip_install(requirements: list[str]) -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))["project"]
    tox_deps = tox_config()["testenv"]["deps"].split()
    editable = False
    for requirement in requirements:
        if requirement == "-e":
            editable = True
            continue
        match = re.fullmatch(r"(\.|napari-sam-stack)\[(\w+)\]", requirement)
        if match:
            assert (match[1] == ".") == editable, f"{requirement}: a path needs -e, a name does not"
            assert match[1] == "." or match[1] == project["name"]
            assert match[2] in project["optional-dependencies"], f"no extra {match[2]!r} in pyproject.toml"
        elif requirement.startswith("torch"):
            assert requirement in tox_deps, f"{requirement} is not the torch that tox.ini pins ({tox_deps})"
        else:
            assert requirement == "tox", f"no rule covers installing {requirement!r}"
        editable = False


def check_tox(words: list[str], command: str) -> None:
    if words == ["python3", "-m", "tox"]:
        ci_lines = (ROOT / ".ci" / "run").read_text(encoding="utf-8").splitlines()
        assert command in ci_lines, f"{command!r} is not a line of .ci/run"
    if "-e" in words:
        environment = words[words.index("-e") + 1]
        assert f"testenv:{environment}" in tox_config(), f"no tox environment {environment!r}"


def tox_config() -> configparser.ConfigParser:
    config = configparser.ConfigParser(interpolation=None)
    config.read(ROOT / "tox.ini")
    return config


def assert_out_written(arguments: list[str]) -> None:
    if "--out" in arguments:
        out = Path(arguments[arguments.index("--out") + 1])
        assert out.exists() and (out.is_file() or any(out.iterdir())), f"nothing written at {out}"
