"""A long run (segmenting every plane, propagating objects) that writes into a Labels layer.

The job runs in a worker with napari's progress bar and yields results plane by plane; each is
written at once, so the user sees the run advance. When the job ends the writes become one undo
step; if it is cancelled or fails, every plane is put back as it was before the run.
"""

from napari.qt.threading import create_worker

from ..errors import SamStackError
from .labels_writing import StagedLabelsEdit


class StagedRun:
    """``apply(staged, result)`` writes one yielded result through ``staged``
    (a ``StagedLabelsEdit``); it may raise SamStackError to stop the run. ``on_end(outcome,
    detail)`` is called once: ("done", pixels changed), ("cancelled", None) or ("failed", error).
    """

    def __init__(self, layer, apply, on_end) -> None:
        self.staged = StagedLabelsEdit(layer)
        self._apply = apply
        self._on_end = on_end
        self._finished_normally = False
        self._failure = None
        self.worker = None

    def start(self, job, *args, total: int, description: str) -> None:
        self.worker = create_worker(
            job,
            *args,
            _progress={"total": total, "desc": description},
            _connect={
                "yielded": self._on_yielded,
                "returned": self._on_returned,
                "errored": self._on_errored,  # also sent to napari's notifications by the worker
                "finished": self._on_finished,
            },
        )

    def cancel(self) -> None:
        self.worker.quit()  # takes effect at the job's next yield

    def _on_yielded(self, result) -> None:
        if self._failure is not None:
            return
        try:
            self._apply(self.staged, result)
        except SamStackError as error:
            self._failure = error
            self.worker.quit()

    def _on_returned(self, value) -> None:
        self._finished_normally = True

    def _on_errored(self, error: Exception) -> None:
        self._failure = error

    def _on_finished(self) -> None:
        # "finished" always comes last; "returned" only if the job ran to its end uncancelled.
        if self._failure is not None:
            self.staged.cancel()
            self._on_end("failed", self._failure)
        elif self._finished_normally:
            self._on_end("done", self.staged.commit())
        else:
            self.staged.cancel()
            self._on_end("cancelled", None)
