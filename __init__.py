from . import models
from . import adapters
from . import controllers
