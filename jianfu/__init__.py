"""jianfu (减负): tiered, personal homework inside the double-reduction rules."""

__version__ = "0.1.0"
