"""A file server on 127.0.0.1 for the download tests (no network is needed or used)."""

import contextlib
import functools
import http.server
import threading


class FileHandler(http.server.SimpleHTTPRequestHandler):
    """Serves a folder and records the request paths in ``requests``; ``/truncated/<n>``
    promises n bytes and sends n // 2, as a dropped connection does."""

    requests = []

    def do_GET(self):  # noqa: N802 (http.server naming)
        type(self).requests.append(self.path)
        if self.path.startswith("/truncated/"):
            n = int(self.path.rsplit("/", 1)[1])
            self.send_response(200)
            self.send_header("Content-Length", str(n))
            self.end_headers()
            self.wfile.write(b"x" * (n // 2))
            self.wfile.flush()
            self.close_connection = True
            return
        super().do_GET()

    def log_message(self, *args):
        pass


@contextlib.contextmanager
def serve(root):
    """Serves ``root`` until the block ends; yields the base URL (``http://127.0.0.1:<port>``)."""
    FileHandler.requests = []
    httpd = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(FileHandler, directory=str(root)))
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02},
                              daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(5)
