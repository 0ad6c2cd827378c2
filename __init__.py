from . import json_body
from . import models
from . import controllers
