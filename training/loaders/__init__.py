"""Loaders: answer logs from contract files (a school's export), ASSISTments and EdNet."""


class DataError(ValueError):
    """Training data that cannot be used, said with file and line where there is one."""
