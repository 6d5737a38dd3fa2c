"""Segment everything: the automatic mask generator on the plane shown, or on every plane.

Every mask found becomes a new object of the output Labels layer (labels after the largest one
there), without touching objects already there unless the widget's "overwrite" is ticked.
"""

from qtpy.QtWidgets import QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QPushButton, QSpinBox

from ..errors import SamStackError
from .jobs import segment_everything
from .labels_writing import check_label_fits, next_free_label, paint_new_objects
from .staged_run import StagedRun
from .status_line import StatusLine

THIS_PLANE, EVERY_PLANE = "this plane", "every plane"


class EverythingPanel(QGroupBox):
    def __init__(self, owner) -> None:
        super().__init__("Segment everything")
        self.owner = owner  # the SamStackWidget: model, plane, output layer, overwrite
        self.run = None
        self._next_label = 1

        self.scope = QComboBox()
        self.scope.addItems([THIS_PLANE, EVERY_PLANE])
        self.points_per_side = QSpinBox()
        self.points_per_side.setRange(4, 64)
        self.points_per_side.setValue(32)
        self.points_per_side.setToolTip("The grid of point prompts: more points find smaller objects, and take longer")
        self.start_button = QPushButton("Segment everything")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.status = StatusLine()

        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        form = QFormLayout(self)
        form.addRow("Planes", self.scope)
        form.addRow("Points per side", self.points_per_side)
        form.addRow(buttons)
        form.addRow(self.status)

        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(lambda: self.run.cancel())

    def start(self) -> None:
        owner = self.owner
        if owner.model is None:
            self.status.error("Load a model first.")
            return
        if owner.long_run_active:
            self.status.error("Another run is writing into the Labels layer; wait for it or cancel it.")
            return
        try:
            plane = owner.current_plane()
            labels = owner.output_labels(plane)
        except SamStackError as error:
            self.status.error(f"{error}.")
            return
        planes = [plane] if self.scope.currentText() == THIS_PLANE else plane.every_plane()
        self._next_label = next_free_label(labels)
        overwrite = owner.overwrite.isChecked()

        def apply(staged, result) -> None:
            done_plane, objects = result
            check_label_fits(labels, self._next_label + int(objects.max(initial=0)) - 1)
            index = done_plane.index
            painted, self._next_label = paint_new_objects(staged.plane(index), objects, self._next_label, overwrite)
            staged.write(index, painted)

        self.run = StagedRun(labels, apply, self._ended)
        owner.set_long_run_active(True)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.busy(f"Segmenting {len(planes)} plane(s) …")
        self.run.start(
            segment_everything,
            owner.model,
            planes,
            self.points_per_side.value(),
            total=len(planes),
            description="SAM: segment everything",
        )

    def _ended(self, outcome: str, detail) -> None:
        self.owner.set_long_run_active(False)
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if outcome == "done":
            self.status.info(f"Done: {detail} pixels labelled, one undo step (Ctrl+Z on the Labels layer).")
        elif outcome == "cancelled":
            self.status.info("Cancelled; the Labels layer is as it was.")
        else:
            # Not notified again: napari's workers send their errors to its notifications.
            self.status.error(f"Segment everything failed, the Labels layer is as it was: {detail}", notify=False)
