{
    'name': 'JWT Provider',
    'summary': 'Token-based REST login API (JSON Web Tokens) and auth="jwt" routes',
    # No series prefix: Odoo adds its own (11.0.2.1.0 ... 19.0.2.1.0), so one
    # manifest serves every series.
    'version': '2.1.0',
    'category': 'Tools',
    'author': 'jwt_provider developers',
    'license': 'LGPL-3',
    'website': 'https://github.com/',
    # auth_signup: /api/register uses its free sign-up setting and template user.
    # base_setup: the settings block lives in General Settings.
    'depends': ['auth_signup', 'base_setup'],
    'external_dependencies': {'python': ['jwt', 'cryptography']},
    'data': [
        'security/ir.model.access.csv',
        'data/ir_cron.xml',
        'data/jwt_provider_data.xml',
    ],
    'installable': True,
    'uninstall_hook': 'uninstall_hook',
    # Listed under Apps' default "Apps" filter: administrators find it by searching "jwt".
    'application': True,
}
