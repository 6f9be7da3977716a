"""Errors about the user's input (a dataset, a file, a parameter) rather than about avdf.

The CLI prints them as one message naming the file and the reason, without a traceback, and
exits with status 2; anything else is a bug and keeps its traceback.
"""


class InputError(Exception):
    """Bad or missing input; the message says which file or parameter, and what to do."""


class MediaError(RuntimeError):
    """A media file that cannot be used, with the reason in words (raised by avdf.media; a stage
    records it as the clip's rejection, avdf.contracts.stage_runner)."""
