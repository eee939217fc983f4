"""The ``lamina`` command's subcommands that live in their own modules (``lamina run``)."""
