"""The WSGI entry point for gunicorn (see Procfile): the only module that builds an app at import time."""
from server import create_app

app = create_app()
