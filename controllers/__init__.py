from . import main
from . import openapi
from . import oauth
