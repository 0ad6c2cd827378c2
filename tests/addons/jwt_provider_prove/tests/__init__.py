from . import test_prove
