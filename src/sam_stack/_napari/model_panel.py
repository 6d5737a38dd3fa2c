"""Choosing and loading a model: catalog names and checkpoint files in one list, and a device;
whether SAM 2 runs in bfloat16; and where image encodings are kept (in memory only, or also in a
folder on disk).

bfloat16 is on after each load of a SAM 2 model where the device computes in bfloat16 natively
(``bfloat16_is_fast``): there it encodes and tracks about twice as fast, while scripts
(``sam-stack``, the Python API) keep float32, the official models' own arithmetic, by default.
Unticking it gives results identical to the official code.

Loading runs in a worker thread with napari's progress bar. A failed load (a wrong file, a model
this version cannot read, no network for a download) is reported in the panel and in napari's
notifications, and the model loaded before stays in use.
"""

from pathlib import Path

from napari.qt.threading import create_worker
from qtpy.QtCore import Signal
from qtpy.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFileDialog,
    QGridLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
)

import sam_stack
from sam_stack.models import bfloat16_is_fast

from .status_line import StatusLine

CHECKPOINT_FILE = "Checkpoint file…"
DEVICES = ("auto", "cuda", "mps", "cpu")


class ModelPanel(QGroupBox):
    """Emits ``model_changed`` with the new model once a load succeeds, ``precision_changed``
    when bfloat16 is turned on or off for it, and ``cache_folder_changed`` with the folder typed
    or chosen for encodings ("" for none)."""

    model_changed = Signal(object)
    precision_changed = Signal(bool)
    cache_folder_changed = Signal(str)

    def __init__(self, parent=None) -> None:
        super().__init__("Model", parent)
        self.model = None
        self.worker = None

        self.source = QComboBox()
        self.source.addItems(list(sam_stack.list_models()) + [CHECKPOINT_FILE])
        self.source.setCurrentText(CHECKPOINT_FILE)
        self.source.setToolTip("An official model by name (downloaded once), or a checkpoint file on this computer")
        self.file_label = QLabel("File")
        self.path = QLineEdit()
        self.path.setPlaceholderText("sam_vit_b_01ec64.pth, sam2.1_hiera_tiny.pt, …")
        self.browse = QPushButton("Browse…")
        self.device = QComboBox()
        self.device.addItems(DEVICES)
        self.device.setToolTip("auto: a CUDA GPU if there is one, else Apple's MPS, else the CPU")
        self.load = QPushButton("Load")
        self.bfloat16 = QCheckBox("bfloat16 (SAM 2): about twice as fast")
        self.bfloat16.setEnabled(False)
        self.bfloat16.setToolTip(
            "Encode and track in bfloat16, as the official SAM 2 examples do on GPUs. On by default "
            "where the device computes in bfloat16 natively (CPUs with AVX-512 BF16 or AMX, recent "
            "GPUs). Untick for results identical to the official code in float32."
        )
        self.cache_folder = QLineEdit()
        self.cache_folder.setPlaceholderText("(in memory only)")
        self.cache_folder.setToolTip(
            "A folder that keeps every image encoding on disk (as `sam-stack embed` writes them): "
            "planes encoded once, in this session or an earlier one, are not encoded again"
        )
        self.browse_cache = QPushButton("Browse…")
        self.status = StatusLine("No model loaded.")

        file_row = QHBoxLayout()
        file_row.addWidget(self.path)
        file_row.addWidget(self.browse)
        cache_row = QHBoxLayout()
        cache_row.addWidget(self.cache_folder)
        cache_row.addWidget(self.browse_cache)
        layout = QGridLayout(self)
        layout.addWidget(QLabel("Model"), 0, 0)
        layout.addWidget(self.source, 0, 1, 1, 3)
        layout.addWidget(self.file_label, 1, 0)
        layout.addLayout(file_row, 1, 1, 1, 3)
        layout.addWidget(QLabel("Device"), 2, 0)
        layout.addWidget(self.device, 2, 1)
        layout.addWidget(self.load, 2, 2, 1, 2)
        layout.addWidget(self.bfloat16, 3, 1, 1, 3)
        layout.addWidget(QLabel("Encodings"), 4, 0)
        layout.addLayout(cache_row, 4, 1, 1, 3)
        layout.addWidget(self.status, 5, 0, 1, 4)

        self.source.currentTextChanged.connect(self._show_file_row)
        self.browse.clicked.connect(self._choose_file)
        self.path.returnPressed.connect(self.start_loading)
        self.load.clicked.connect(self.start_loading)
        self.bfloat16.toggled.connect(self._set_precision)
        self.cache_folder.editingFinished.connect(self._emit_cache_folder)
        self.browse_cache.clicked.connect(self._choose_cache_folder)
        self._show_file_row(self.source.currentText())

    def start_loading(self) -> None:
        if self.worker is not None:
            return
        source = self.source.currentText()
        if source == CHECKPOINT_FILE:
            source = self.path.text().strip()
            if not source:
                self.status.error("Choose a checkpoint file first (Browse…).", notify=False)
                return
        device = self.device.currentText()
        self.load.setEnabled(False)
        self.status.busy(f"Loading {Path(source).name} …")
        # With _connect the worker starts at once, and errors come to _failed instead of being raised.
        self.worker = create_worker(
            sam_stack.load_model,
            source,
            device,
            _progress={"desc": f"Loading SAM model {Path(source).name}"},
            _connect={"returned": self._loaded, "errored": self._failed, "finished": self._finished},
        )

    def _loaded(self, model) -> None:
        self.model = model
        has_bfloat16 = model.version != "v1"
        self.bfloat16.blockSignals(True)
        self.bfloat16.setEnabled(has_bfloat16)
        self.bfloat16.setChecked(has_bfloat16 and bfloat16_is_fast(model.device))
        self.bfloat16.blockSignals(False)
        if has_bfloat16:
            model.use_bfloat16 = self.bfloat16.isChecked()
        precision = ", in bfloat16" if self.bfloat16.isChecked() else ""
        self.status.info(f"Loaded SAM {model.version} ({model.size}) on {model.device}{precision}.")
        self.model_changed.emit(model)

    def _set_precision(self, bfloat16: bool) -> None:
        if self.model is None or self.model.version == "v1":
            return
        self.model.use_bfloat16 = bfloat16
        self.precision_changed.emit(bfloat16)

    def _failed(self, error: Exception) -> None:
        keeping = f" Still using SAM {self.model.version} ({self.model.size})." if self.model else ""
        # napari's workers send their errors to napari's notifications already.
        self.status.error(f"Could not load the model: {error}{keeping}", notify=False)

    def _finished(self) -> None:
        self.worker = None
        self.load.setEnabled(True)

    def _show_file_row(self, source: str) -> None:
        for widget in (self.file_label, self.path, self.browse):
            widget.setVisible(source == CHECKPOINT_FILE)

    def _choose_file(self) -> None:
        path, _ = QFileDialog.getOpenFileName(
            self, "SAM checkpoint", self.path.text(), "Checkpoints (*.pth *.pt *.ckpt);;All files (*)"
        )
        if path:
            self.path.setText(path)

    def _choose_cache_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Folder for image encodings", self.cache_folder.text())
        if folder:
            self.cache_folder.setText(folder)
            self._emit_cache_folder()

    def _emit_cache_folder(self) -> None:
        self.cache_folder_changed.emit(self.cache_folder.text().strip())
