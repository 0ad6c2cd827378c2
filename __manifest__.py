{
    'name': 'JWT Provider',
    'summary': 'Token-based REST login API (JSON Web Tokens) and auth="jwt" routes',
    'version': '11.0.2.0.0',
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
        'views/res_config_settings_views.xml',
        'views/res_users_views.xml',
        'data/ir_cron.xml',
    ],
    'installable': True,
    'application': False,
}
