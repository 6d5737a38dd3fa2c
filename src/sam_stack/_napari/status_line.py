"""One line of text under a panel that says what happened, what is running, or what went wrong.

Errors are also sent to napari's notifications (unless the caller says not to), so they are seen
when the panel is scrolled away or hidden.
"""

from napari.utils.notifications import show_error
from qtpy.QtWidgets import QLabel

STYLES = {"info": "", "busy": "color: #e0b000;", "error": "color: #ff6060;"}


class StatusLine(QLabel):
    def __init__(self, text: str = "", parent=None) -> None:
        super().__init__(text, parent)
        self.setWordWrap(True)
        self.setVisible(bool(text))  # an empty line would only leave a gap
        self.kind = "info"

    def info(self, text: str) -> None:
        self._show(text, "info")

    def busy(self, text: str) -> None:
        self._show(text, "busy")

    def error(self, text: str, notify: bool = True) -> None:
        self._show(text, "error")
        if notify:
            show_error(text)

    def _show(self, text: str, kind: str) -> None:
        self.kind = kind
        self.setText(text)
        self.setStyleSheet(STYLES[kind])
        self.setVisible(bool(text))
