"""The napari plugin: the only part of sam_stack that imports napari, qtpy or magicgui."""
