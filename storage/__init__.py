"""Storage: engine, typed models, repositories and alembic migrations."""
