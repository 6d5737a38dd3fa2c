"""The package as pip and napari see it: a valid plugin manifest, and a core usable without a GUI."""

import json
import subprocess
import sys
from importlib.resources import files
from pathlib import Path

import pytest
from npe2 import PluginManager, PluginManifest

DISTRIBUTION = "napari-sam-stack"
TOP_LEVEL_MANIFEST = Path(__file__).resolve().parents[1] / "napari.yaml"

# Scripts and the `sam-stack` command must not pay for (or need) a GUI stack.
GUI_PACKAGES = ["napari", "qtpy", "magicgui", "vispy", "PyQt5", "PyQt6", "PySide2", "PySide6"]


def test_installed_manifest_is_valid():
    manifest = PluginManifest.from_distribution(DISTRIBUTION)  # raises if the manifest is invalid
    assert manifest.name == DISTRIBUTION
    # What `npe2 validate --imports` does: every python_name in the manifest must resolve.
    manifest.validate_imports()


def test_top_level_manifest_is_valid_and_is_the_one_shipped():
    manifest = PluginManifest.from_file(TOP_LEVEL_MANIFEST)
    assert manifest.name == DISTRIBUTION
    shipped = files("sam_stack").joinpath("napari.yaml").read_text(encoding="utf-8")
    assert TOP_LEVEL_MANIFEST.read_text(encoding="utf-8") == shipped


def test_core_imports_no_gui_packages():
    # A fresh interpreter: this one has napari loaded already by the pytest plugins.
    script = f"""
import json, pkgutil, sys
import sam_stack, sam_stack.models, sam_stack.tasks, sam_stack.cli
for package in (sam_stack.models, sam_stack.tasks):
    for module in pkgutil.walk_packages(package.__path__, package.__name__ + "."):
        __import__(module.name)
gui = {GUI_PACKAGES!r}
print(json.dumps(sorted(name for name in sys.modules if name.split(".")[0] in gui)))
"""
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout.splitlines()[-1]) == []


@pytest.mark.gui
def test_napari_lists_the_plugin(make_napari_viewer):
    make_napari_viewer()  # a viewer makes napari discover its plugins, as at start-up
    assert DISTRIBUTION in PluginManager.instance()
