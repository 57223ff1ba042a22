"""Persistence: SQLAlchemy 2 models (``*Row``), the engine factory, migrations runner and stores."""
