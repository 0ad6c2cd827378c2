{
    'name': 'Another second factor (jwt_provider tests)',
    'summary': 'A two-factor method of its own, which the API cannot check: it must answer 403',
    'version': '1.0.0',
    'license': 'LGPL-3',
    'author': 'jwt_provider developers',
    'depends': ['base'],
    'installable': True,
}
