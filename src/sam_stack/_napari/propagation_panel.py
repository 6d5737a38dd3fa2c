"""Propagation (SAM v2 / v2.1): carry the objects of the plane shown through a stack.

The objects are every label on the plane in the output Labels layer (each as a mask prompt,
keeping its label) and, if the plane has points or a box, one new object from them. They are
carried along a chosen axis, over a chosen range, forward, backward or both; each frame's masks
replace those objects on that plane as they arrive. After a correction on a later plane,
propagating from there again supersedes what the earlier run wrote, and takes the frames'
encodings from the widget's ``embedding_cache`` (in memory up to a byte budget, and in the
folder chosen in the model panel) rather than encoding them again.
"""

import numpy as np
from qtpy.QtWidgets import QCheckBox, QComboBox, QFormLayout, QGroupBox, QHBoxLayout, QLabel, QPushButton, QSpinBox

from ..errors import SamStackError
from .jobs import DIRECTIONS, FramesAlongAxis, propagate
from .labels_writing import check_label_fits, next_free_label, mask_prompts, paint_tracked_objects
from .staged_run import StagedRun
from .status_line import StatusLine


class PropagationPanel(QGroupBox):
    def __init__(self, owner) -> None:
        super().__init__("Propagate through the stack (SAM v2)")
        self.owner = owner  # the SamStackWidget: model, plane, prompts, output layer, overwrite
        self.run = None

        self.axis = QComboBox()
        self.axis.setToolTip("The axis to carry the objects along (time or z)")
        self.first = QSpinBox()
        self.last = QSpinBox()
        self.direction = QComboBox()
        self.direction.addItems(list(DIRECTIONS))
        self.direction.setCurrentText("both")
        self.samurai = QCheckBox("SAMURAI mask selection")
        self.samurai.setToolTip("Choose each frame's mask with a motion model of the object's box (SAMURAI)")
        self.start_button = QPushButton("Propagate")
        self.cancel_button = QPushButton("Cancel")
        self.cancel_button.setEnabled(False)
        self.status = StatusLine()

        frames = QHBoxLayout()
        frames.addWidget(self.first)
        frames.addWidget(QLabel("to"))
        frames.addWidget(self.last)
        buttons = QHBoxLayout()
        buttons.addWidget(self.start_button)
        buttons.addWidget(self.cancel_button)
        form = QFormLayout(self)
        form.addRow("Along axis", self.axis)
        form.addRow("From", frames)
        form.addRow("Direction", self.direction)
        form.addRow(self.samurai)
        form.addRow(buttons)
        form.addRow(self.status)

        self.axis.currentIndexChanged.connect(self._reset_range)
        self.start_button.clicked.connect(self.start)
        self.cancel_button.clicked.connect(lambda: self.run.cancel())

    def refresh_axes(self) -> None:
        """Offers the image's stack axes (all but the plane's two and any channel axis)."""
        self.axis.clear()
        try:
            plane = self.owner.current_plane()
        except SamStackError:
            return
        names = self.owner.viewer.dims.axis_labels
        skip = 1 if plane.channels_first else 0
        first_world_axis = len(names) - plane.layer.ndim
        for axis, size in enumerate(plane.object_shape[:-2]):
            name = names[first_world_axis + skip + axis]
            # napari names unnamed axes by number ("0", or "-3" counting from the end): say which axis of the image.
            title = f"axis {skip + axis}" if name.lstrip("-").isdigit() else f"{name} (axis {skip + axis})"
            self.axis.addItem(f"{title}, {size} planes", axis)

    def _reset_range(self) -> None:
        axis = self.axis.currentData()
        try:
            size = self.owner.current_plane().object_shape[axis] if axis is not None else 1
        except SamStackError:
            size = 1
        for spin in (self.first, self.last):
            spin.setRange(0, size - 1)
        self.first.setValue(0)
        self.last.setValue(size - 1)

    def start(self) -> None:
        owner = self.owner
        try:
            request = self._request()
        except SamStackError as error:
            self.status.error(f"Not propagated: {error}.")
            return
        plane, labels, axis, objects, new_object, prompts = request
        first, last, direction = self.first.value(), self.last.value(), self.direction.currentText()
        current = plane.index[axis]
        overwrite = owner.overwrite.isChecked()

        def apply(staged, result) -> None:
            frame, masks = result
            index = plane.at(axis, first + frame).index
            staged.write(index, paint_tracked_objects(staged.plane(index), masks, overwrite))

        def ended(outcome: str, detail) -> None:
            self._ended(outcome, detail)
            if outcome == "done" and new_object is not None:
                owner.remove_prompts(prompts)  # they are object `new_object` now

        self.run = StagedRun(labels, apply, ended)
        owner.set_long_run_active(True)
        self.start_button.setEnabled(False)
        self.cancel_button.setEnabled(True)
        self.status.busy(f"Propagating {len(objects)} object(s) {direction} from plane {current} …")
        frame_count = {"forward": last - current + 1, "backward": current - first + 1, "both": last - first + 2}
        self.run.start(
            propagate,
            owner.model,
            FramesAlongAxis(plane, axis, first, last),
            current - first,
            objects,
            direction,
            self.samurai.isChecked(),
            owner.embedding_cache,
            total=frame_count[direction],
            description="SAM: propagating objects",
        )

    def _request(self):
        """Checks what the user asked for; SamStackError says what is wrong."""
        owner = self.owner
        if owner.model is None:
            raise SamStackError("load a SAM v2 or v2.1 model first")
        if owner.model.version == "v1":
            raise SamStackError("propagation needs the memory of a SAM v2 or v2.1 model; the loaded model is SAM v1")
        if owner.long_run_active:
            raise SamStackError("another run is writing into the Labels layer; wait for it or cancel it")
        plane = owner.current_plane()
        if self.axis.currentData() is None:
            raise SamStackError(f"image '{plane.layer.name}' is a single plane; propagation needs a stack (3-D or 4-D)")
        axis = self.axis.currentData()
        first, last = self.first.value(), self.last.value()
        if not first <= plane.index[axis] <= last:
            raise SamStackError(f"the plane shown ({plane.index[axis]}) is outside the range {first} to {last}")
        labels = owner.output_labels(plane, create=False)
        objects = {} if labels is None else mask_prompts(np.asarray(labels.data[plane.index]))
        prompts = owner.plane_prompts(plane)
        if not objects and prompts.is_empty:
            raise SamStackError("there is nothing to carry: commit an object on this plane, or add points or a box")
        if labels is None:
            labels = owner.output_labels(plane)  # made only now that the request is known to be good
        new_object = None
        if not prompts.is_empty:
            new_object = next_free_label(labels)
            check_label_fits(labels, new_object)
            objects[new_object] = prompts.predict_arguments()
        return plane, labels, axis, objects, new_object, prompts

    def _ended(self, outcome: str, detail) -> None:
        self.owner.set_long_run_active(False)
        self.start_button.setEnabled(True)
        self.cancel_button.setEnabled(False)
        if outcome == "done":
            self.status.info(f"Done: {detail} pixels changed, one undo step (Ctrl+Z on the Labels layer).")
        elif outcome == "cancelled":
            self.status.info("Cancelled; the Labels layer is as it was.")
        else:
            # Not notified again: napari's workers send their errors to its notifications.
            self.status.error(f"Propagation failed, the Labels layer is as it was: {detail}", notify=False)
