"""The one exception type geoxai raises for problems the user can fix."""


class GeoxaiError(RuntimeError):
    """An error meant for the user: the message names the file or key and what to do."""
