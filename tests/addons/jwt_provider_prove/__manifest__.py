{
    'name': 'Guard-off switches for jwt_provider (tests only)',
    'summary': 'make prove: each security guarantee switched off in turn, its test must then fail',
    'version': '1.0.0',
    'license': 'LGPL-3',
    'author': 'jwt_provider developers',
    'depends': ['jwt_provider', 'jwt_provider_example'],
    'installable': True,
}
