"""``import emospark.spark``: the public name of :mod:`emospark.integrations.spark`."""
from .integrations.spark import *  # noqa: F401,F403
from .integrations.spark import __all__  # noqa: F401
