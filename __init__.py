from . import models
from . import wizard
from . import adapters
from . import controllers
