from . import http_hooks
from . import models
from . import controllers
