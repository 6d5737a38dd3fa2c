"""A row of buttons, one per candidate mask, labelled with the model's predicted quality."""

import numpy as np
from qtpy.QtCore import Signal
from qtpy.QtWidgets import QButtonGroup, QHBoxLayout, QLabel, QPushButton, QWidget


class CandidatePicker(QWidget):
    """Shows the candidates of a prediction; the best-scored one is chosen at first."""

    chosen = Signal(int)

    def __init__(self, parent=None) -> None:
        super().__init__(parent)
        self._layout = QHBoxLayout(self)
        self._layout.setContentsMargins(0, 0, 0, 0)
        self._group = QButtonGroup(self)
        self._group.idClicked.connect(self.chosen)
        self._empty = QLabel("none yet")
        self._layout.addWidget(self._empty)
        self._layout.addStretch()

    @property
    def current(self) -> int:
        return self._group.checkedId()

    def show_scores(self, scores) -> int:
        """Replaces the buttons with one per score; returns the index chosen (the best)."""
        self.clear()
        self._empty.hide()
        for number, score in enumerate(scores):
            button = QPushButton(f"{number + 1}: {score:.2f}")
            button.setCheckable(True)
            button.setToolTip(f"Candidate mask {number + 1}: the model predicts an IoU of {score:.2f} with the object")
            self._group.addButton(button, number)
            self._layout.insertWidget(number, button)
        best = int(np.argmax(scores))
        self._group.button(best).setChecked(True)
        return best

    def choose_next(self) -> int | None:
        """Chooses the following candidate (round the end); returns it, or None if there is none."""
        buttons = self._group.buttons()
        if not buttons:
            return None
        following = (self.current + 1) % len(buttons)
        self._group.button(following).setChecked(True)
        self.chosen.emit(following)
        return following

    def clear(self) -> None:
        for button in self._group.buttons():
            self._group.removeButton(button)
            button.hide()  # deleteLater waits for the event loop; the row must not show it meanwhile
            button.deleteLater()
        self._empty.show()
