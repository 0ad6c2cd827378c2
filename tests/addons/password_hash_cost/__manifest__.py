{
    'name': 'Password hash cost of the test databases (jwt_provider tests)',
    'summary': "Test databases hash passwords at passlib's default cost on every series",
    'version': '1.0.0',
    'license': 'LGPL-3',
    'author': 'jwt_provider developers',
    'depends': ['base'],
    'installable': True,
}
