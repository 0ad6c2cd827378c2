from . import models
from . import wizard
from . import adapters
from . import controllers
from .hooks import uninstall_hook  # noqa: F401
