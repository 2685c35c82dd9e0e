"""The one error type of the build."""


class BuildError(Exception):
    """A problem the user can fix; the message names the file or setting and the fix.
    The CLI prints it without a traceback; the site glue turns it into mkdocs'
    ``PluginError`` so ``mkdocs build`` stops with the same message."""


class Reported(BuildError):
    """An error that the process which met it (a trainer) has printed already: the
    command line adds no second line for it."""
