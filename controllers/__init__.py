from . import main
from . import openapi
from . import discovery
from . import oauth
