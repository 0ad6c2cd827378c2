from . import models
from . import http_hooks
from . import controllers
