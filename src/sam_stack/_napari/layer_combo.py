"""A drop-down list of the viewer's layers of one type, kept up to date as layers come and go."""

from qtpy.QtCore import Signal
from qtpy.QtWidgets import QComboBox


class LayerCombo(QComboBox):
    """Lists the layers of ``layer_type``, topmost first; ``empty_text`` (if given) is a first
    entry meaning "no layer". Emits ``layer_changed`` with the chosen layer (or None)."""

    layer_changed = Signal(object)

    def __init__(self, viewer, layer_type, empty_text: str | None = None, exclude=(), parent=None) -> None:
        super().__init__(parent)
        self._viewer = viewer
        self._layer_type = layer_type
        self._empty_text = empty_text
        self._exclude = exclude  # a container the owner keeps up to date (e.g. its preview layers)
        self._layers: list = []
        self._shown = None
        self.setSizeAdjustPolicy(QComboBox.AdjustToMinimumContentsLengthWithIcon)
        self.setMinimumContentsLength(12)
        viewer.layers.events.inserted.connect(self._on_inserted)
        viewer.layers.events.removed.connect(self.refresh)
        viewer.layers.events.moved.connect(self.refresh)
        for layer in viewer.layers:
            layer.events.name.connect(self.refresh)
        self.currentIndexChanged.connect(self._on_index_changed)
        self.refresh()

    @property
    def layer(self):
        position = self.currentIndex() - self._offset
        return self._layers[position] if 0 <= position < len(self._layers) else None

    def choose(self, layer) -> None:
        self.refresh()
        self._set_current(layer)

    def refresh(self, event=None) -> None:
        current = self.layer
        self._layers = [
            layer
            for layer in reversed(self._viewer.layers)
            if isinstance(layer, self._layer_type) and not any(layer is excluded for excluded in self._exclude)
        ]
        self.blockSignals(True)
        self.clear()
        empty = [self._empty_text] if self._empty_text is not None else []
        self.addItems(empty + [layer.name for layer in self._layers])
        self.blockSignals(False)
        fallback = self._layers[0] if self._layers and self._empty_text is None else None
        self._set_current(current if current in self._layers else fallback)

    @property
    def _offset(self) -> int:
        return 0 if self._empty_text is None else 1

    def _set_current(self, layer) -> None:
        """Shows ``layer`` as chosen; ``layer_changed`` is emitted only if that is a change."""
        self.blockSignals(True)
        self.setCurrentIndex(self._layers.index(layer) + self._offset if layer in self._layers else 0)
        self.blockSignals(False)
        self._on_index_changed()

    def _on_inserted(self, event) -> None:
        event.value.events.name.connect(self.refresh)
        self.refresh()

    def _on_index_changed(self, index=None) -> None:
        if self.layer is not self._shown:
            self._shown = self.layer
            self.layer_changed.emit(self._shown)
