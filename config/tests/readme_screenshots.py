"""The README's pictures (docs/screenshots/): the browser tests take their screenshots
under test-artifacts/ and keep a copy for the README only when it is missing or
`UPDATE_SCREENSHOTS=1`, so that a test run leaves the working tree as it found it."""

import os
import shutil
from pathlib import Path

README_SCREENSHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def keep_for_readme(shot: Path, name: str) -> None:
    """Copy `shot` to docs/screenshots/`name` if that is missing or a refresh is asked."""
    readme_copy = README_SCREENSHOTS / name
    if not readme_copy.exists() or os.environ.get("UPDATE_SCREENSHOTS") == "1":
        readme_copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, readme_copy)
