from . import jwt_provider_key
from . import jwt_provider_token
from . import jwt_provider_session
from . import jwt_provider_login_attempt
from . import ir_http
from . import ir_ui_view
from . import res_users
from . import res_config_settings
