"""The one exception type that carries a message a person can act on."""


class InputError(ValueError):
    """Bad input from a user (file, parameter, filter). The message is shown as-is:
    an alert in the UI, one `error: ...` line on stderr with exit code 2 in the CLI."""
