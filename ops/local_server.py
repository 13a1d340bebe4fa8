"""This project behind gunicorn on loopback, in a child process: what the benchmark, the load
test and the shared-throttle test each serve their requests from."""

import http.client
import os
import secrets
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
GUNICORN = Path(sys.executable).parent / "gunicorn"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def production_environment(database_url: str, **settings: str) -> dict[str, str]:
    """This process's environment with production settings on `database_url`, served on
    loopback (no TLS redirect), plus `settings`.

    The settings module, database, cache and metrics directory of this process are left
    out, so that the child uses only what it is given.
    """
    env = {
        name: value
        for name, value in os.environ.items()
        if name not in {"DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL"}
        and not name.startswith("PROMETHEUS_")
    }
    env.update(
        DJANGO_SETTINGS_MODULE="config.settings",
        DATABASE_URL=database_url,
        DEBUG="0",
        SECRET_KEY=secrets.token_urlsafe(32),
        ALLOWED_HOSTS="127.0.0.1",
        SECURE_SSL_REDIRECT="0",
    )
    env.update(settings)
    return env


class GunicornServer:
    """gunicorn with config/gunicorn.py on a free loopback port, started at once;
    `wait_ready()` waits for /healthz, so that several can start side by side."""

    def __init__(
        self,
        env: dict[str, str],
        workers: int,
        *gunicorn_args: str,
        log: Path | None = None,
        app: str = "config.wsgi",
    ) -> None:
        """`log`: a file for gunicorn's stderr, for runs that log more than a pipe holds
        (a full pipe that nobody reads blocks the workers); a pipe read at stop() otherwise.
        `app`: the WSGI application, this project's unless a benchmark serves its own."""
        self.port = free_port()
        self._log = log
        self._log_file = log.open("w") if log is not None else None
        self.process = subprocess.Popen(
            [str(GUNICORN), "-c", "config/gunicorn.py", *gunicorn_args, app],
            cwd=ROOT,
            env={
                **env,
                "GUNICORN_BIND": f"127.0.0.1:{self.port}",
                "GUNICORN_WORKERS": str(workers),
                "GUNICORN_ACCESS_LOG": "",
            },
            stdout=subprocess.DEVNULL,
            stderr=self._log_file or subprocess.PIPE,
            text=True,
        )
        self._stderr: str | None = None

    @classmethod
    def started(
        cls,
        env: dict[str, str],
        workers: int,
        *gunicorn_args: str,
        log: Path | None = None,
        app: str = "config.wsgi",
    ) -> "GunicornServer":
        server = cls(env, workers, *gunicorn_args, log=log, app=app)
        server.wait_ready()
        return server

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_ready(self, seconds: float = 60) -> None:
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"gunicorn exited:\n{self.stop()[-3000:]}")
            try:
                if self.get("/healthz")[0] == 200:
                    return
            except OSError:
                time.sleep(0.2)
        raise RuntimeError(f"gunicorn did not answer /healthz within {seconds:.0f} s")

    def get(self, path: str, headers: dict[str, str] | None = None) -> tuple[int, str]:
        connection = http.client.HTTPConnection("127.0.0.1", self.port, timeout=10)
        try:
            connection.request("GET", path, headers=headers or {})
            response = connection.getresponse()
            return response.status, response.read().decode()
        finally:
            connection.close()

    def stop(self) -> str:
        """Stop (once) and return what gunicorn wrote to stderr (errors, tracebacks)."""
        if self._stderr is None:
            self.process.terminate()
            try:
                _, stderr = self.process.communicate(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                _, stderr = self.process.communicate()
            if self._log is not None and self._log_file is not None:
                self._log_file.close()
                stderr = self._log.read_text()
            self._stderr = stderr or ""
        return self._stderr
