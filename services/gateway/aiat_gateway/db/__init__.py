"""Database models, engine and the queries the API and worker share."""
