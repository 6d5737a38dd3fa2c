"""A scroll area for a tall panel in a narrow dock: it scrolls up and down, never sideways.

Its minimum width is always its content's (with the scroll bar), so napari's dock makes room for
the content instead of cutting off its right edge.
"""

from qtpy.QtCore import QSize, Qt
from qtpy.QtWidgets import QFrame, QScrollArea


class VerticalScrollArea(QScrollArea):
    def __init__(self, content, parent=None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setFrameShape(QFrame.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarAlwaysOff)
        self.setWidget(content)

    def minimumSizeHint(self) -> QSize:
        width = self.widget().minimumSizeHint().width() + self.verticalScrollBar().sizeHint().width()
        return QSize(width, super().minimumSizeHint().height())
