from . import test_token
from . import test_token_validation
from . import test_revocation
from . import test_key_settings
from . import test_login_rules
from . import test_http
from . import test_second_factor
from . import test_sessions
