"""The apps depend in one direction (README, "Architecture"):

    accounts, activity  ->  scheduling  ->  bookings  ->  engagement

A domain module imports only its own app, the apps below it and config (the
plumbing); never an app above it, at module level or inside a function, and never
a surface app. Surfaces (the instructor pages, each app's admin.py, api/, views.py
and management commands) may import any domain app. config imports no project app
except in its URL routing. Checked on the source with `ast`, so an import inside a
function or under `if TYPE_CHECKING:` counts as much as one at the top.
"""

import ast
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

# Each domain app and the project apps its domain modules may import.
ALLOWED = {
    "accounts": set(),
    "activity": {"accounts"},
    "scheduling": {"accounts", "activity"},
    "bookings": {"accounts", "activity", "scheduling"},
    "engagement": {"accounts", "activity", "scheduling", "bookings"},
}
DOMAIN = set(ALLOWED)
SURFACE_APPS = {"calendars", "instructor", "notifications", "reports", "student", "webhooks"}
PROJECT = DOMAIN | SURFACE_APPS | {"config"}
# Inside a domain app, what faces a user or an operator rather than holding rules.
SURFACE_MODULES = {"admin.py", "views.py"}
SURFACE_PACKAGES = {"api", "management", "tests", "migrations"}
CONFIG_ROUTING = {"config/urls.py", "config/api_urls.py"}

# The outcome channel sits below every domain app; config's metrics subscribe to it.
CONFIG_MAY_IMPORT = {"activity"}


@dataclass(frozen=True)
class Import:
    module: str
    line: int
    in_function: bool


def imports_of(source: str, module_name: str) -> list[Import]:
    """Every import anywhere in the source, relative ones resolved against `module_name`."""
    found: list[Import] = []
    package = module_name.rsplit(".", 1)[0]

    def visit(node: ast.AST, in_function: bool) -> None:
        if isinstance(node, ast.Import):
            found.extend(Import(alias.name, node.lineno, in_function) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")
                base = base[: len(base) - node.level + 1]
                target = ".".join([*base, node.module] if node.module else base)
            else:
                target = node.module or ""
            found.append(Import(target, node.lineno, in_function))
        inner = in_function or isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef)
        for child in ast.iter_child_nodes(node):
            visit(child, inner)

    visit(ast.parse(source), False)
    return found


def violations(path: str, source: str) -> list[str]:
    """What the module at `path` (relative to the project root) may not import."""
    parts = Path(path).with_suffix("").parts
    module_name = ".".join(parts)
    app = parts[0]
    found = []
    for imported in imports_of(source, module_name):
        target = imported.module.split(".")[0]
        if target not in PROJECT or target == app:
            continue
        where = f"{path}:{imported.line} imports {imported.module}"
        if app == "config":
            if path not in CONFIG_ROUTING and target not in CONFIG_MAY_IMPORT:
                found.append(f"{where}: config imports no app outside its URL routing")
        elif target == "config":
            continue
        elif target not in ALLOWED[app]:
            found.append(f"{where}: {target} is not below {app}")
        elif imported.in_function:
            found.append(f"{where} inside a function: import it at the top")
    return found


def domain_modules() -> list[Path]:
    modules = []
    for app in sorted(DOMAIN | {"config"}):
        for path in sorted((ROOT / app).rglob("*.py")):
            relative = path.relative_to(ROOT / app)
            if relative.parts[0] in SURFACE_PACKAGES:
                continue
            if app != "config" and relative.name in SURFACE_MODULES and len(relative.parts) == 1:
                continue
            modules.append(path)
    return modules


def test_the_domain_apps_and_config_are_found():
    found = {path.relative_to(ROOT).parts[0] for path in domain_modules()}
    assert found >= {"accounts", "scheduling", "bookings", "engagement", "config"}


def test_no_domain_module_imports_an_app_above_it():
    found = []
    for path in domain_modules():
        relative = path.relative_to(ROOT).as_posix()
        for problem in violations(relative, path.read_text()):
            found.append(problem)
    assert found == []


@pytest.mark.parametrize(
    ("path", "source", "refused"),
    [
        # Upwards at module level, and inside a function (the lazy import that dodges a cycle).
        ("scheduling/services.py", "from bookings.services import promote_waitlist\n", True),
        ("scheduling/services.py", "def f():\n    from engagement.models import Feedback\n", True),
        ("scheduling/services.py", "def f():\n    import bookings.models\n", True),
        ("bookings/models.py", "from engagement import models\n", True),
        ("accounts/models.py", "from scheduling.models import Session\n", True),
        ("activity/services.py", "import scheduling\n", True),
        # A domain module never imports a surface app.
        ("bookings/services.py", "from instructor.views import SessionListView\n", True),
        # Relative imports that climb out of the app are resolved.
        ("scheduling/services.py", "from ..bookings import services\n", True),
        # Downwards within a function is still a lazy import: at the top, please.
        ("bookings/services.py", "def f():\n    from scheduling.models import Session\n", True),
        # config: only its URL routing may name an app.
        ("config/metrics.py", "from bookings.models import Booking\n", True),
        ("config/health.py", "def f():\n    from scheduling.models import Session\n", True),
        ("config/urls.py", "from scheduling.api import urls\n", False),
        # config's metrics subscribe to the outcome channel.
        ("config/metrics.py", "from activity.subscribers import subscribe\n", False),
        # Allowed: downwards at the top, config, the app itself, relative within it.
        ("bookings/services.py", "from scheduling.access import lock_session\n", False),
        ("engagement/services.py", "from bookings.models import Booking\n", False),
        ("scheduling/services.py", "from config.atomic import service_transaction\n", False),
        ("scheduling/services.py", "from .access import lock_session\n", False),
        ("scheduling/services.py", "def f():\n    from .models import Session\n", False),
        ("scheduling/services.py", "import json\nfrom django.db import models\n", False),
    ],
)
def test_a_planted_import_is_caught(path, source, refused):
    assert bool(violations(path, source)) is refused
