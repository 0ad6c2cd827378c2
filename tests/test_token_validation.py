"""RFC 8725 validation: every rule has a token that only that rule refuses."""
import base64
import datetime
import hashlib
import hmac
import json
import time

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from .common import JwtCase, post_install


def b64(data):
    return base64.urlsafe_b64encode(data).rstrip(b'=').decode()


def unsigned(header, claims):
    return '%s.%s.' % (b64(json.dumps(header).encode()), b64(json.dumps(claims, default=str).encode()))


@post_install
class TestTokenValidation(JwtCase):

    def test_crafted_baseline_is_valid(self):
        # The fixture itself: without it the refusals below would prove nothing.
        self.assertValid(self.craft())

    def issued_claims(self, token):
        """The claims of a token the addon issued: registered, unexpired, valid
        in every way, so that a forgery built from them differs only in the part under test."""
        payload = token.split('.')[1]
        return json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))

    def test_alg_none_in_any_case(self):
        genuine = self.Token._issue(self.user, 'access')
        self.assertValid(genuine)  # guards the forgeries below: same claims, same registered jti
        claims = self.issued_claims(genuine)
        kid = jwt.get_unverified_header(genuine)['kid']  # the key in effect: only the algorithm differs
        for alg in ('none', 'None', 'NONE', 'nOnE'):
            self.assertInvalid(unsigned({'alg': alg, 'typ': 'JWT', 'kid': kid}, claims))

    def test_wrong_key(self):
        self.assertInvalid(self.craft(key='x' * 64))

    def test_other_hmac_algorithm(self):
        self.assertInvalid(self.craft(algorithm='HS512'))

    def test_hs_rs_confusion(self):
        # An attacker signs with HS256 using the RSA *public* key as HMAC secret.
        private = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        pem = private.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                    serialization.NoEncryption()).decode()
        self.Key._set_key(algorithm='RS256', private_key=pem)
        public_pem = self.Key._public_key_pem()
        genuine = self.Token._issue(self.user, 'access')
        self.assertValid(genuine)  # a real RS256 token: the forgery re-signs exactly its claims
        claims = self.issued_claims(genuine)
        header = {'alg': 'HS256', 'typ': 'JWT', 'kid': jwt.get_unverified_header(genuine)['kid']}
        signing_input = '%s.%s' % (b64(json.dumps(header).encode()),
                                   b64(json.dumps(claims).encode()))
        signature = hmac.new(public_pem.encode(), signing_input.encode(), hashlib.sha256).digest()
        forged = signing_input + '.' + b64(signature)
        self.assertInvalid(forged)

    def test_tampered_payload(self):
        token = self.craft()
        header, payload, sig = token.split('.')
        claims = json.loads(base64.urlsafe_b64decode(payload + '=' * (-len(payload) % 4)))
        # A claim nothing else checks: only the signature can refuse this one.
        self.assertInvalid('.'.join([header, b64(json.dumps(dict(claims, lgn='someone@else')).encode()), sig]))
        self.assertInvalid('.'.join([header, b64(json.dumps(dict(claims, sub='1')).encode()), sig]))

    def test_expired(self):
        past = datetime.datetime.utcnow() - datetime.timedelta(hours=2)
        self.assertInvalid(self.craft(iat=past, exp=past + datetime.timedelta(hours=1)))

    def test_expiry_within_leeway_passes(self):
        now = datetime.datetime.utcnow()
        self.assertValid(self.craft(iat=now - datetime.timedelta(hours=1), exp=now - datetime.timedelta(seconds=3)))

    def test_issued_with_tiny_lifetime_expires(self):
        self.ICP.set_param('jwt_provider.access_lifetime', '1')
        self.ICP.set_param('jwt_provider.leeway', '0')
        token = self.Token._issue(self.user, 'access')
        # Not "valid at once, then invalid": with one second to live, a busy
        # machine (or the whole-second claims) may cross it before the check.
        claims = json.loads(base64.urlsafe_b64decode(token.split('.')[1] + '=='))
        self.assertEqual(claims['exp'] - claims['iat'], 1)
        time.sleep(2.1)
        self.assertInvalid(token)

    def test_far_future_exp(self):
        now = datetime.datetime.utcnow()
        self.assertInvalid(self.craft(exp=now + datetime.timedelta(days=3650)))

    def test_iat_in_the_future(self):
        now = datetime.datetime.utcnow()
        self.assertInvalid(self.craft(iat=now + datetime.timedelta(hours=1), exp=now + datetime.timedelta(hours=2)))

    def test_missing_claims(self):
        for claim in ('exp', 'iat', 'sub', 'jti', 'iss', 'aud', 'typ'):
            self.assertInvalid(self.craft(**{claim: None}))

    def test_integer_sub(self):
        token = self.craft(sub=self.user.id)
        self.assertInvalid(token)
        # Refused by the claims check itself, not only by the table's user comparison.
        self.assertDecodeRefused(token, 'access')

    def test_sub_of_another_user(self):
        self.assertInvalid(self.craft(sub=str(self.env.ref('base.user_root').id)))

    def test_other_database(self):
        self.assertInvalid(self.craft(aud='another-database-uuid'))

    def test_issuer_exact_match(self):
        self.assertInvalid(self.craft(iss=self.Key._issuer() + 'x'))
        self.assertInvalid(self.craft(iss=[self.Key._issuer()]))

    def test_refresh_token_is_not_an_access_token(self):
        self.assertInvalid(self.craft(typ='refresh'))
        pair = self.Token._issue_pair(self.user)
        self.assertInvalid(pair['refresh_token'])
        # The typ claim refuses it before the table's token_type does.
        self.assertDecodeRefused(self.craft(typ='refresh'), 'access')

    def test_crit_header_refused(self):
        self.assertInvalid(self.craft(headers={'crit': ['exp']}))

    def test_unknown_kid_refused(self):
        """The kid picks the key: a kid the key store does not know is refused, even
        on a token the key in effect signed."""
        for kid in ('../../etc/passwd', 'x' * 43, ''):
            self.assertInvalid(self.craft(headers={'kid': kid}))

    def test_key_hint_headers_ignored(self):
        for headers in ({'jku': 'http://attacker/jwks'},
                        {'x5u': 'http://attacker/cert'}, {'jwk': {'kty': 'oct', 'k': b64(b'x' * 64)}}):
            self.assertValid(self.craft(headers=headers))
            self.assertInvalid(self.craft(key='x' * 64, headers=headers))

    def test_oversized_token(self):
        self.assertInvalid(self.craft(pad='x' * 5000))

    def test_deeply_nested_header(self):
        header = '[' * 100000 + ']' * 100000
        token = '%s.%s.%s' % (b64(header.encode()), b64(b'{}'), b64(b'sig'))
        self.assertInvalid(token)
        nested = b64(('{"a":' * 3000 + '1' + '}' * 3000).encode())
        self.assertInvalid('%s.%s.%s' % (nested, b64(b'{}'), b64(b'sig')))

    def test_garbage(self):
        for garbage in ('', 'abc', 'a.b.c', '...', 'é.é.é', None, 12, b64(b'{}') + '.' + b64(b'[]') + '.x'):
            self.assertInvalid(garbage)

    def test_unregistered_token(self):
        self.assertInvalid(self.craft(register=False))
