from . import jwt_provider_client_secret
