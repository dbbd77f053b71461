"""The system of record: SQLAlchemy schema, queries and Alembic migrations."""
