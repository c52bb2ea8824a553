"""The one error type for bad input: it stops the command with exit code 2."""

import click


class InputError(click.ClickException):
    """Malformed input, a missing required field, or an unusable option value.

    Click prints ``Error: <message>`` to stderr and exits with :attr:`exit_code`. The message should
    name the file and line (``data.jsonl:12: ...``) or the option at fault and what to pass instead.
    """

    exit_code = 2
