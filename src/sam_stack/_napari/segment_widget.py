"""The dock widget: load a model, click on a plane of an image, preview the mask, commit it.

Flow: any change of the prompts, the plane or the image's contrast schedules a preview (after a
short pause, so a burst of changes runs once). The preview runs in a worker: it reads and
normalises the plane, encodes it unless the cache has it (the slow part, shown as busy), and
decodes the prompts. One preview runs at a time; changes made meanwhile are picked up when it
ends. Commit writes the chosen candidate into the output Labels layer as one undo step.

Field of view: zoomed into a large plane, the preview encodes only the part in view and the
prompts (rule in ``field_of_view``), taken when the prompts change; the masks still cover the
whole plane. Refining a label: its mask joins the points and boxes as the model's mask prompt,
and the commit replaces the label's pixels on the plane with the new mask.

The panels for segmenting everything and for propagation (``everything_panel``,
``propagation_panel``) use this widget's model, image plane, prompts and output layer.
"""

from pathlib import Path

import numpy as np
from napari.layers import Image, Labels, Points, Shapes
from napari.qt.threading import create_worker
from napari.utils import progress
from qtpy.QtCore import QTimer
from qtpy.QtWidgets import (
    QCheckBox,
    QFormLayout,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from ..errors import SamStackError
from ..tasks.embedding_cache import EmbeddingCache
from .candidate_picker import CandidatePicker
from .everything_panel import EverythingPanel
from .field_of_view import LARGE_PLANE_SIDE, region_to_encode, visible_extent
from .helper_layers import (
    fits_preview,
    new_boxes_layer,
    new_points_layer,
    new_preview_layer,
    object_geometry,
    set_next_point_positive,
    style_prompt_points,
)
from .image_plane import current_plane
from .jobs import ENCODING, predict_on_plane
from .labels_writing import check_label_fits, new_labels_data, next_free_label, paint_mask, paint_tracked_objects, write_plane
from .layer_combo import LayerCombo
from .model_panel import ModelPanel
from .pre_encoding import NeighbourPreEncoder
from .prompts import PROMPT_FEATURE, read_prompts
from .propagation_panel import PropagationPanel
from .status_line import StatusLine
from .vertical_scroll_area import VerticalScrollArea

PREVIEW_DELAY_MS = 60
SHORTCUTS = {
    "Shift-C": ("commit the preview", "commit"),
    "Shift-X": ("clear the prompts of this plane", "clear_prompts"),
    "Shift-T": ("toggle positive / negative points", "toggle_polarity"),
    "Shift-N": ("next candidate mask", "next_candidate"),
}
KEY_HELP = [(key.replace("-", "+"), what) for key, (what, _) in SHORTCUTS.items()] + [
    ("Ctrl+Z", "undo (with the Labels layer selected)")
]


class SamStackWidget(QWidget):
    """Interactive Segment Anything on the plane the viewer shows."""

    def __init__(self, napari_viewer) -> None:
        super().__init__()
        self.viewer = napari_viewer
        # Every encoding this widget and its panels make or reuse: previews, propagation.
        self.embedding_cache = EmbeddingCache()
        self.helper_layers: list = []  # layers this widget added for its own display, never an output
        self.prediction = None  # (plane, prompts, Prediction) shown in the preview
        self.preview_region = None  # (x0, y0, x1, y1) of the plane encoded for the preview, None: all of it
        self.preview_layer = None
        self.preview_worker = None
        self.preview_pending = False
        self.long_run_active = False
        self._encoding_progress = None
        self._watched: list = []  # (emitter, callback) pairs to disconnect when the inputs change

        self.model_panel = ModelPanel()
        self.image_combo = LayerCombo(napari_viewer, Image)
        self.channels_first = QCheckBox("Channels on the first axis")
        self.channels_first.setToolTip("For a (C, …, Y, X) image: the model sees its first three channels as RGB")
        self.field_of_view = QCheckBox("Zoomed in: encode only the part in view")
        self.field_of_view.setChecked(True)
        self.field_of_view.setToolTip(
            f"On a plane longer than {LARGE_PLANE_SIDE} pixels, when the part in view and the prompts (plus 10%) "
            "span at most half of it, the model sees only that part, at full detail: small objects come out "
            "finer. Masks still cover the whole plane. The part is taken when the prompts change."
        )
        self.pre_encode = QCheckBox("Encode the planes next to this one ahead")
        self.pre_encode.setChecked(True)
        self.pre_encode.setToolTip(
            "After each preview, the planes before and after it (along the slider you last moved) are encoded "
            "in the background, so that their previews come at once"
        )
        self.pre_encoder = NeighbourPreEncoder(napari_viewer)
        self.points_combo = LayerCombo(napari_viewer, Points, "(none)")
        self.boxes_combo = LayerCombo(napari_viewer, Shapes, "(none)")
        self.polarity = QPushButton()
        self.polarity.setCheckable(True)
        self.candidates = CandidatePicker()
        self.labels_combo = LayerCombo(napari_viewer, Labels, "(new layer on commit)", exclude=self.helper_layers)
        self.into_selected = QCheckBox("Add to the layer's selected label")
        self.into_selected.setToolTip("Unticked, each commit is a new object with the next free label")
        self.overwrite = QCheckBox("Overwrite other objects")
        self.overwrite.setToolTip("Unticked, pixels that already belong to another object keep it")
        self.refine_selected = QCheckBox("Refine the selected label")
        self.refine_selected.setToolTip(
            "The selected label's mask on this plane guides the model with your points and boxes "
            "(SAM's mask prompt); Commit replaces that label here with the new mask"
        )
        self.commit_button = QPushButton("Commit (Shift+C)")
        self.clear_button = QPushButton("Clear prompts (Shift+X)")
        self.status = StatusLine("Load a model, then click on the image.")
        self.everything = EverythingPanel(self)
        self.propagation = PropagationPanel(self)
        self._lay_out()

        self._preview_timer = QTimer(self)
        self._preview_timer.setSingleShot(True)
        self._preview_timer.setInterval(PREVIEW_DELAY_MS)
        self._preview_timer.timeout.connect(self.update_preview)

        self.model_panel.model_changed.connect(self._on_model_changed)
        self.model_panel.precision_changed.connect(self.schedule_preview)
        self.model_panel.cache_folder_changed.connect(self._on_cache_folder_changed)
        self.image_combo.layer_changed.connect(self._on_image_changed)
        self.points_combo.layer_changed.connect(self._on_prompt_layers_changed)
        self.boxes_combo.layer_changed.connect(self._on_prompt_layers_changed)
        self.channels_first.toggled.connect(self._on_prompt_layers_changed)
        self.labels_combo.layer_changed.connect(self._on_prompt_layers_changed)
        self.refine_selected.toggled.connect(self.schedule_preview)
        self.field_of_view.toggled.connect(self.schedule_preview)
        self.channels_first.toggled.connect(self.propagation.refresh_axes)
        self.polarity.toggled.connect(self._on_polarity_toggled)
        self.candidates.chosen.connect(self._show_candidate)
        self.commit_button.clicked.connect(self.commit)
        self.clear_button.clicked.connect(self.clear_prompts)
        dims_events = napari_viewer.dims.events
        for emitter in (dims_events.current_step, dims_events.ndisplay, dims_events.order):
            emitter.connect(self.schedule_preview)
        self._bind_shortcuts()
        self._on_polarity_toggled(False)
        self._on_image_changed(self.image_combo.layer)

    # --- what the panels use ------------------------------------------------------------------

    @property
    def model(self):
        return self.model_panel.model

    def current_plane(self):
        """The plane to segment; SamStackError if there is none."""
        if self.image_combo.layer is None:
            raise SamStackError("there is no image layer: open an image (File > Open, or File > Open Sample)")
        return current_plane(self.viewer, self.image_combo.layer, self.channels_first.isChecked())

    def plane_prompts(self, plane):
        return read_prompts(plane, self.points_combo.layer, self.boxes_combo.layer)

    def output_labels(self, plane, create: bool = True) -> Labels | None:
        """The Labels layer objects go into; if none is chosen, a new empty one (or None without
        ``create``). SamStackError if the chosen one does not fit the image."""
        labels = self.labels_combo.layer
        if labels is None and create:
            data = new_labels_data(plane.object_shape, plane.data)
            labels = Labels(data, name=f"{plane.layer.name} objects", **object_geometry(plane))
            self._add_layer(labels, just_above=plane.layer)
            self.labels_combo.choose(labels)
        elif labels is not None and labels.data.shape != plane.object_shape:
            raise SamStackError(
                f"Labels layer '{labels.name}' has shape {labels.data.shape}, but objects of image "
                f"'{plane.layer.name}' need shape {plane.object_shape}: choose another Labels layer, "
                "or '(new layer on commit)'"
            )
        return labels

    def set_long_run_active(self, active: bool) -> None:
        """While a panel writes into the output layer, other writes wait."""
        self.long_run_active = active
        for widget in (self.commit_button, self.labels_combo, self.image_combo):
            widget.setEnabled(not active)

    # --- preview --------------------------------------------------------------------------------

    def schedule_preview(self, event=None) -> None:
        self._preview_timer.start()

    def is_busy(self) -> bool:
        """Whether a preview is scheduled or running, or planes are being encoded ahead."""
        return self._preview_timer.isActive() or self.preview_worker is not None or self.pre_encoder.worker is not None

    def update_preview(self) -> None:
        if self.preview_worker is not None:
            self.preview_pending = True
            return
        self.prediction = None
        try:
            plane = self.current_plane()
        except SamStackError as error:
            self._clear_preview(f"{error}.")
            return
        try:
            prompts = self._preview_prompts(plane)
        except SamStackError as error:
            self._clear_preview(f"{error}.")
            return
        if prompts.is_empty:
            self._clear_preview(self._hint(prompts))
            return
        if self.model is None:
            self._clear_preview("Load a model to see the mask for these prompts.")
            return
        visible = visible_extent(plane.layer) if self.field_of_view.isChecked() else None
        self.preview_region = region_to_encode(plane.plane_shape, visible, prompts)
        self.preview_worker = create_worker(
            predict_on_plane,
            self.model,
            self.embedding_cache,
            plane,
            prompts,
            self.preview_region,
            _connect={
                "yielded": self._on_encoding,
                "returned": lambda prediction: self._on_prediction(plane, prompts, prediction),
                "errored": self._on_preview_error,  # also sent to napari's notifications by the worker
                "finished": self._on_preview_finished,
            },
        )

    def _preview_prompts(self, plane):
        """The plane's points and boxes, with the selected label as the mask when refining it."""
        labels = self.output_labels(plane, create=False) if self.refine_selected.isChecked() else None
        label = 0 if labels is None else labels.selected_label
        return read_prompts(plane, self.points_combo.layer, self.boxes_combo.layer, labels, label)

    def _on_encoding(self, notice) -> None:
        if notice == ENCODING:
            where = "the part of this plane in view" if self.preview_region is not None else "this plane"
            self.status.busy(f"Encoding {where} (once) …")
            self._encoding_progress = progress(total=0, desc="SAM: encoding the plane")

    def _on_prediction(self, plane, prompts, prediction) -> None:
        if self.preview_pending:
            return  # the prompts changed meanwhile; the next preview replaces this one
        self.prediction = (plane, prompts, prediction)
        self._show_candidate(self.candidates.show_scores(prediction.scores))

    def _on_preview_error(self, error: Exception) -> None:
        self._clear_preview(f"No preview: {error}", error=True)

    def _on_preview_finished(self) -> None:
        self.preview_worker = None
        if self._encoding_progress is not None:
            self._encoding_progress.close()
            self._encoding_progress = None
        if self.preview_pending:
            self.preview_pending = False
            self.update_preview()
        elif self._pre_encoding_helps():
            self.pre_encoder.start(self.model, self.embedding_cache, self.prediction[0])

    def _pre_encoding_helps(self) -> bool:
        # A plane encoded by region (field of view) has neighbours that would be encoded by region
        # too; during a propagation or segment-everything run the CPU is taken.
        return (
            self.prediction is not None
            and self.pre_encode.isChecked()
            and self.preview_region is None
            and not self.long_run_active
        )

    def _show_candidate(self, number: int) -> None:
        plane, prompts, prediction = self.prediction
        preview = self._preview_layer_for(plane)
        preview.data = prediction.masks[number].astype(np.uint8)
        absent = prediction.object_score is not None and prediction.object_score <= 0
        self.status.info(
            f"Candidate {number + 1} of {len(prediction.scores)}, score {prediction.scores[number]:.2f}."
            + (" The model thinks the object is not in this plane." if absent else "")
            + self._hint(prompts)
        )

    def _hint(self, prompts) -> str:
        if prompts.is_empty:
            hint = "Click on the image to add points (Shift+T: positive / negative), or draw a box in 'SAM boxes'."
        else:
            hint = " Shift+C commits."
        if prompts.outside:
            hint += f" {prompts.outside} point(s) outside the image are left out."
        return hint

    def _clear_preview(self, message: str, error: bool = False) -> None:
        self.prediction = None
        self.candidates.clear()
        if self.preview_layer is not None:
            self.preview_layer.data = np.zeros_like(self.preview_layer.data)
        if error:
            self.status.error(message, notify=False)
        else:
            self.status.info(message)

    def _preview_layer_for(self, plane) -> Labels:
        """The preview layer, (re)made if the user removed it or it does not fit the plane."""
        current = self.preview_layer
        if current is not None and current in self.viewer.layers and fits_preview(current, plane):
            return current
        if current is not None and current in self.viewer.layers:
            self.viewer.layers.remove(current)
        self.preview_layer = self._add_layer(new_preview_layer(plane), just_above=self.boxes_combo.layer, helper=True)
        return self.preview_layer

    # --- actions ------------------------------------------------------------------------------------

    def commit(self) -> None:
        """Writes the previewed candidate into the output Labels layer (one undo step)."""
        if self.long_run_active:
            self.status.error("Wait until the running segmentation ends (or cancel it), then commit.")
            return
        if self.prediction is None or self.is_busy():
            self.status.error("Nothing to commit yet: add a point or a box and wait for the preview.")
            return
        plane, prompts, prediction = self.prediction
        mask = prediction.masks[self.candidates.current]
        if not mask.any():
            self.status.error("The chosen mask is empty; nothing was written. Pick another (Shift+N) or add prompts.")
            return
        refine = self.refine_selected.isChecked()
        try:
            labels = self.output_labels(plane)
            label = labels.selected_label if refine or self.into_selected.isChecked() else next_free_label(labels)
            if label == 0:
                raise SamStackError(f"the selected label of '{labels.name}' is 0 (background); pick an object's label")
            check_label_fits(labels, label)
        except SamStackError as error:
            self.status.error(f"Not committed: {error}.")
            return
        old_plane = np.asarray(labels.data[plane.index])
        if refine:
            painted = paint_tracked_objects(old_plane, {label: mask}, self.overwrite.isChecked())
        else:
            painted = paint_mask(old_plane, mask, label, self.overwrite.isChecked())
        changed = write_plane(labels, plane.index, painted)
        labels.selected_label = label
        self.remove_prompts(prompts)
        done = "refined in" if refine else "written into"
        self.status.info(f"Object {label} {done} '{labels.name}' ({changed} pixels); Ctrl+Z there undoes it.")

    def clear_prompts(self) -> None:
        """Removes the points and boxes of the plane shown."""
        try:
            self.remove_prompts(self.plane_prompts(self.current_plane()))
        except SamStackError as error:
            self.status.error(f"{error}.", notify=False)

    def toggle_polarity(self) -> None:
        self.polarity.toggle()

    def next_candidate(self) -> None:
        self.candidates.choose_next()

    def remove_prompts(self, prompts) -> None:
        for layer, rows in ((self.points_combo.layer, prompts.point_rows), (self.boxes_combo.layer, prompts.box_rows)):
            if layer is not None and rows:
                layer.selected_data = set(rows)
                layer.remove_selected()

    # --- reacting to the user's choices -----------------------------------------------------------

    def _on_model_changed(self, model) -> None:
        # The old model's encodings can no longer be used (the keys name the model): free them.
        self.embedding_cache.clear_memory()
        self.schedule_preview()

    def _on_cache_folder_changed(self, folder: str) -> None:
        current = self.embedding_cache.disk
        if (current.directory if current else None) == (Path(folder).expanduser() if folder else None):
            return  # the line edit reports every loss of focus, changed or not
        try:
            cache = EmbeddingCache(directory=folder or None)
        except SamStackError as error:
            self.model_panel.status.error(f"Encodings cannot be kept in {folder!r}: {error}", notify=False)
            return
        self.embedding_cache = cache
        where = f"in memory and in {folder}" if folder else "in memory only"
        self.model_panel.status.info(f"Image encodings are kept {where}.")

    def _on_image_changed(self, image) -> None:
        if image is not None and self.points_combo.layer is None and self.boxes_combo.layer is None:
            # Deferred: the combo may be reporting a layer that is being inserted right now.
            QTimer.singleShot(0, self._add_prompt_layers)
        self.propagation.refresh_axes()
        self._on_prompt_layers_changed()

    def _add_prompt_layers(self) -> None:
        if self.points_combo.layer is not None or self.boxes_combo.layer is not None:
            return
        try:
            plane = self.current_plane()
        except SamStackError:
            return  # the user will see why as soon as a preview is asked for
        boxes = self._add_layer(new_boxes_layer(plane), helper=True)
        points = self._add_layer(new_points_layer(plane), helper=True)
        self.boxes_combo.choose(boxes)
        self.points_combo.choose(points)
        self.viewer.layers.selection.active = points
        points.mode = "add"

    def _on_prompt_layers_changed(self, *args) -> None:
        for emitter, callback in self._watched:
            emitter.disconnect(callback)
        self._watched = []
        points, boxes, image = self.points_combo.layer, self.boxes_combo.layer, self.image_combo.layer
        if points is not None:
            if PROMPT_FEATURE not in points.features:
                style_prompt_points(points)
            self._on_polarity_toggled(self.polarity.isChecked())
            self._watch(points.events.data, points.events.features)
        if boxes is not None:
            self._watch(boxes.events.data)
        if image is not None:
            self._watch(image.events.data, image.events.contrast_limits, image.events.gamma)
        if self.labels_combo.layer is not None:
            self._watch(self.labels_combo.layer.events.selected_label)
        self.schedule_preview()

    def _watch(self, *emitters) -> None:
        for emitter in emitters:
            emitter.connect(self.schedule_preview)
            self._watched.append((emitter, self.schedule_preview))

    def _on_polarity_toggled(self, negative: bool) -> None:
        self.polarity.setText("Next points: negative (magenta)" if negative else "Next points: positive (green)")
        if self.points_combo.layer is not None:
            set_next_point_positive(self.points_combo.layer, not negative)

    def _add_layer(self, layer, just_above=None, helper: bool = False):
        """Adds ``layer`` right above ``just_above`` (on top if None or gone), without taking the
        active layer away from the user; a helper layer is for display, never an output."""
        active = self.viewer.layers.selection.active
        layers = self.viewer.layers
        layers.insert(layers.index(just_above) + 1 if just_above in layers else len(layers), layer)
        if active is not None:
            layers.selection.active = active
        if helper:
            self.helper_layers.append(layer)
        return layer

    def _bind_shortcuts(self) -> None:
        for key, (_, method) in SHORTCUTS.items():
            self.viewer.bind_key(key, lambda viewer, method=method: getattr(self, method)(), overwrite=True)
        keys = list(SHORTCUTS)
        viewer = self.viewer
        # The viewer outlives the widget when the dock is closed; its keys must not call a dead widget.
        self.destroyed.connect(lambda: [viewer.bind_key(key, None) for key in keys])

    # --- layout ---------------------------------------------------------------------------------------

    def _lay_out(self) -> None:
        image_box = QGroupBox("Image")
        image_form = QFormLayout(image_box)
        image_form.addRow("Layer", self.image_combo)
        image_form.addRow(self.channels_first)
        image_form.addRow(self.field_of_view)
        image_form.addRow(self.pre_encode)

        prompt_box = QGroupBox("Prompts and preview")
        prompt_form = QFormLayout(prompt_box)
        prompt_form.addRow("Points", self.points_combo)
        prompt_form.addRow("Boxes", self.boxes_combo)
        prompt_form.addRow(self.polarity)
        prompt_form.addRow("Masks", self.candidates)

        output_box = QGroupBox("Commit")
        output_form = QFormLayout(output_box)
        output_form.addRow("Labels", self.labels_combo)
        output_form.addRow(self.into_selected)
        output_form.addRow(self.overwrite)
        output_form.addRow(self.refine_selected)
        buttons = QHBoxLayout()
        buttons.addWidget(self.commit_button)
        buttons.addWidget(self.clear_button)
        output_form.addRow(buttons)

        keys = QGroupBox("Keys (with the mouse over the image)")
        keys_grid = QGridLayout(keys)
        for row, (key, what) in enumerate(KEY_HELP):
            keys_grid.addWidget(QLabel(f"<b>{key}</b>"), row, 0)
            keys_grid.addWidget(QLabel(what), row, 1)
        keys_grid.setColumnStretch(1, 1)

        # The panels are taller than a laptop screen: they scroll rather than squeeze each other.
        content = QWidget()
        column = QVBoxLayout(content)
        for panel in (self.model_panel, image_box, prompt_box, output_box, self.status, keys):
            column.addWidget(panel)
        column.addWidget(self.everything)
        column.addWidget(self.propagation)
        column.addStretch()
        layout = QVBoxLayout(self)
        layout.setContentsMargins(0, 0, 0, 0)
        layout.addWidget(VerticalScrollArea(content))
