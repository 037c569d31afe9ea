"""The database: engine and sessions, tables, migrations, stored-text limits, backup and restore."""
