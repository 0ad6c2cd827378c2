"""The translation template (i18n/jwt_provider.pot) holds every term Odoo exports."""
import ast
import os

from .. import compat
from .common import JwtCase, export_pot, post_install

POT = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), 'i18n', 'jwt_provider.pot')


def msgids(text):
    """The ``msgid``s of a PO/POT text (multi-line ones joined), without the header's empty one."""
    ids, current = set(), None
    for line in text.splitlines() + ['']:
        line = line.strip()
        if line.startswith('msgid '):
            current = [line[len('msgid '):]]
        elif current is not None and line.startswith('"'):
            current.append(line)
        elif current is not None:
            ids.add(''.join(ast.literal_eval(part) for part in current))
            current = None
    ids.discard('')
    return ids


@post_install
class TestTranslationTemplate(JwtCase):

    def test_template_holds_every_exported_term(self):
        """Views differ between eras, so the template is the union of the series'
        exports (make pot on 11.0 and 19.0): each series' terms must be in it."""
        exported = msgids(export_pot(self.env, 'jwt_provider').decode('utf-8'))
        self.assertTrue(exported, 'Odoo exported no term of jwt_provider')
        with open(POT, encoding='utf-8') as f:
            missing = exported - msgids(f.read())
        self.assertFalse(missing, 'i18n/jwt_provider.pot lacks %d terms (run make pot ODOO_VERSION=%s): %s'
                         % (len(missing), compat.ODOO_VERSION, sorted(missing)[:5]))
