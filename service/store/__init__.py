"""Storage: SQLAlchemy tables for the data contract, plans and the evening ledger; migrations; import.

SQLite (WAL) by default, PostgreSQL when JIANFU_DATABASE_URL says so. Only this package talks SQL.
"""
