"""The allegro collector: a Starlette app that receives SDK events and stores them in SQLite."""
