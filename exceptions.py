"""The errors of the API, each with the HTTP status and message clients get.

Raised by the models, mapped in one place (``answers.error_answer``, with
Odoo's own exceptions) and answered by ``ir.http._jwt_error_response``, so
every endpoint and ``auth='jwt'`` route answers a given failure the same way.
``str(error)`` is a reason for the server log only; clients read ``message``.
"""


class JwtError(Exception):
    code = 400
    message = 'Bad request'

    def __init__(self, reason=None, message=None, data=None, headers=None):
        if message:
            self.message = message
        super(JwtError, self).__init__(reason or self.message)
        self.data = data
        self.headers = headers or {}


class InvalidToken(JwtError):
    """The token is missing, malformed, forged, expired, spent or revoked."""
    code = 498
    message = 'Token invalid or expired'


class KeyConfigError(JwtError):
    """The signing key is missing or unusable: no token may be issued or accepted."""
    code = 503
    message = 'The token service is not configured'


class ServiceUnavailable(JwtError):
    """The database cannot be reached; the client may retry shortly."""
    code = 503
    message = 'Service temporarily unavailable, retry later'

    def __init__(self, reason=None, retry_after=5):
        super(ServiceUnavailable, self).__init__(reason, headers={'Retry-After': str(retry_after)})


class IncorrectLogin(JwtError):
    """Unknown login, wrong password or archived user: one answer for all."""
    code = 400
    message = 'Incorrect login'


class LoginThrottled(JwtError):
    """Too many recent failures for this login or address."""
    code = 429
    message = 'Too many failed logins, retry later'

    def __init__(self, retry_after):
        super(LoginThrottled, self).__init__(
            'throttled for %ss' % retry_after, headers={'Retry-After': str(retry_after)})
        self.retry_after = retry_after


class SecondFactorRequired(JwtError):
    """The password was right but the user has two-factor authentication:
    ``data`` carries the ticket to send back with the code."""
    code = 401
    message = 'Two-factor code required'


class IncorrectCode(JwtError):
    code = 400
    message = 'Incorrect code'


class SignupDisabled(JwtError):
    code = 501
    message = 'Sign-up is disabled'


class SignupRefused(JwtError):
    """Registration input refused; the message says why."""
    code = 400


class MissingField(JwtError):
    """A field the call cannot do without is absent or empty: 400, as the
    OpenAPI document's ``required`` and ``minLength`` say. A present but
    unknown, expired or spent ticket or refresh token still answers 498."""
    code = 400


class BadRequestBody(JwtError):
    code = 400
    message = 'Invalid JSON body: a JSON object is expected'


class BodyTooLarge(JwtError):
    code = 413
    message = 'Request body too large'


class BodyTimeout(JwtError):
    """The client did not send its whole body in time (``tools.BODY_READ_TIMEOUT``)."""
    code = 408
    message = 'Request body not received in time'


class BodyIncomplete(JwtError):
    """The client closed the connection before sending the body it announced."""
    code = 400
    message = 'Request body incomplete'


class SecondFactorUnsupported(JwtError):
    """The user's second factor is not one the API can check (only TOTP is)."""
    code = 403
    message = 'This account uses a two-factor method the API does not support'


class InvalidScope(JwtError):
    """A requested ``scope`` is malformed (RFC 6749 3.3), or widens the one a
    refresh token was issued with."""
    code = 400
    message = 'Invalid scope'


class InsufficientScope(JwtError):
    """The token is valid but its ``scope`` lacks one the route requires (RFC 6750 3.1)."""
    code = 403
    message = 'Insufficient scope'


class OAuthError(JwtError):
    """An error of the OAuth endpoints, answered as RFC 6749 5.2 says
    (``{"error": ..., "error_description": ...}``), not in the envelope.
    ``error`` is the RFC's code (``invalid_grant``, ``invalid_client``, ...)."""
    code = 400

    def __init__(self, error, description=None, code=None, headers=None):
        super(OAuthError, self).__init__(description or error, message=description or error, headers=headers)
        self.error = error
        self.description = description
        if code:
            self.code = code
