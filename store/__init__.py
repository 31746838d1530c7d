"""The shared kernel: settings, the data model, the database and its migrations."""
