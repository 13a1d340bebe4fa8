"""gunicorn settings: `gunicorn -c config/gunicorn.py config.wsgi`, every value from the env."""

import multiprocessing
import os

bind = os.environ.get("GUNICORN_BIND", "127.0.0.1:8000")
# Threaded workers: a request waiting for a row lock (up to BOOKING_LOCK_TIMEOUT_MS) or
# for the database holds one thread, not a whole process, so a contended session cannot
# take every worker. Processes give CPU parallelism (one more than the cores, for the
# GIL's sake); threads cover the waits. Slow clients never reach a thread at all: nginx
# buffers request and response bodies (deploy/nginx.conf).
workers = int(os.environ.get("GUNICORN_WORKERS", multiprocessing.cpu_count() + 1))
threads = int(os.environ.get("GUNICORN_THREADS", "8"))
worker_class = "gthread"
# A worker whose threads are all busy stops accepting, so the kernel hands the next
# connection to a worker with a free thread instead of queueing it behind a lock wait.
worker_connections = threads
# Database connections: Django keeps one per thread (CONN_MAX_AGE), so one app server
# opens up to workers x threads of them. Keep the sum over all app servers (plus
# migrations, backups and psql) under PostgreSQL's max_connections (README, "Worker
# model and database connections").
database_connections = workers * threads
timeout = int(os.environ.get("GUNICORN_TIMEOUT", "30"))
graceful_timeout = 30
keepalive = int(os.environ.get("GUNICORN_KEEPALIVE", "5"))
max_requests = int(os.environ.get("GUNICORN_MAX_REQUESTS", "2000"))
max_requests_jitter = 200
accesslog = os.environ.get("GUNICORN_ACCESS_LOG", "-") or None
errorlog = "-"
forwarded_allow_ips = os.environ.get("FORWARDED_ALLOW_IPS", "127.0.0.1")


def on_starting(server: object) -> None:
    server.log.info(
        "%d workers x %d threads: up to %d database connections",
        workers,
        threads,
        database_connections,
    )
    # prometheus_client's multiprocess mode sums one file per worker: start from none,
    # or a restart would add the previous run's counters to this one's.
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory:
        os.makedirs(directory, exist_ok=True)
        for name in os.listdir(directory):
            if name.endswith(".db"):
                os.remove(os.path.join(directory, name))


def child_exit(server: object, worker: object) -> None:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        multiprocess.mark_process_dead(worker.pid)
