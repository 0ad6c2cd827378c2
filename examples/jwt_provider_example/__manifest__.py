{
    'name': 'JWT Provider: examples',
    'summary': 'Private routes protected by jwt_provider (auth="jwt" and the helpers)',
    'version': '1.0.0',
    'license': 'LGPL-3',
    'author': 'jwt_provider developers',
    'depends': ['jwt_provider'],
    'installable': True,
}
