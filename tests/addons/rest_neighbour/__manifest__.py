{
    'name': 'A neighbouring REST addon (jwt_provider tests)',
    'summary': "Another addon's routes under /api/v1/: jwt_provider must leave them as Odoo serves them",
    'version': '1.0.0',
    'license': 'LGPL-3',
    'author': 'jwt_provider developers',
    'depends': ['web'],
    'installable': True,
}
