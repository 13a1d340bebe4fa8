from config.errors import Conflict


class SessionProtected(Conflict):
    """Deleting the session would lose history; `blocking` counts each relation."""

    code = "protected"

    def __init__(self, blocking: dict[str, int]) -> None:
        listed = ", ".join(f"{count} {name}" for name, count in blocking.items() if count)
        super().__init__(
            f"The session cannot be deleted: it is referenced by {listed}. Cancel it instead.",
            blocking=blocking,
        )
        self.blocking = blocking
