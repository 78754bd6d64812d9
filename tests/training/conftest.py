from tests.issues.conftest import csrf_headers  # noqa: F401
