"""The shared extension objects, created unbound so that only create_app() wires them to an app."""
from flask_migrate import Migrate
from flask_sqlalchemy import SQLAlchemy

from server.orm import Base

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
