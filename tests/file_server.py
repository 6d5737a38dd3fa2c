"""A small HTTP server on 127.0.0.1 for the download tests.

It serves byte strings by name, honours ``Range: bytes=N-`` requests as CDNs do (206 with the
rest of the file, 416 past its end), records what was asked, and can be told to break off the
next responses to a file after a number of bytes, or to ignore ranges as some servers do.
"""

import re
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FileServer:
    """Use as a context manager; ``url(name)`` is the address of ``files[name]``."""

    def __init__(self, files: dict[str, bytes]) -> None:
        self.files = files
        self.requests: list[tuple[str, str | None]] = []  # (name, Range header)
        self.break_after: dict[str, list[int]] = {}  # name -> body bytes sent by the next responses
        self.ignore_range = False
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.owner = self
        # A short poll interval makes shutdown quick (the default waits up to half a second).
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.02,), daemon=True)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self._server.server_port}/{name}"

    def __enter__(self) -> "FileServer":
        self._thread.start()
        return self

    def __exit__(self, *exc_info) -> None:
        self._server.shutdown()
        self._server.server_close()


class _Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        owner: FileServer = self.server.owner
        name = self.path.lstrip("/")
        requested = self.headers.get("Range")
        owner.requests.append((name, requested))
        if name not in owner.files:
            self.send_error(404)
            return
        data = owner.files[name]
        start = 0
        if requested and not owner.ignore_range:
            start = int(re.fullmatch(r"bytes=(\d+)-", requested).group(1))
            if start >= len(data):
                self.send_response(416)
                self.send_header("Content-Range", f"bytes */{len(data)}")
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(206)
            self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        else:
            self.send_response(200)
        body = data[start:]
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if owner.break_after.get(name):
            # Promise the whole body, send part of it, hang up: a connection lost midway.
            body = body[: owner.break_after[name].pop(0)]
            self.close_connection = True
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass  # keep the test output clean
