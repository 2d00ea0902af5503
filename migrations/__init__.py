"""Alembic migrations of GNRP Live (``gnrp migrate``)."""
