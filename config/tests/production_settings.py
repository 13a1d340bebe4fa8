"""Settings as config.settings computes them in a fresh process from a given environment:
what production gets, which the test settings (imported once) cannot show."""

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]


def production_setting(name: str, **env: str) -> Any:
    """`config.settings.<name>` with DEBUG off and `env` on top of this process's environment."""
    clean = {k: v for k, v in os.environ.items() if k not in {"DJANGO_SETTINGS_MODULE", "DEBUG"}}
    clean.update(SECRET_KEY="settings-probe-key-not-for-any-deployment", **env)
    result = subprocess.run(
        [
            sys.executable,
            "-c",
            "import json; from config import settings; "
            f"print(json.dumps(getattr(settings, {name!r})))",
        ],
        cwd=ROOT,
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(result.stdout)
