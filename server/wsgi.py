"""The WSGI entry point for gunicorn (see Procfile): the only module that builds an app at import time."""
from server import create_app, freeze_startup_heap

app = create_app()
freeze_startup_heap()
