"""Database models, the connection and the migrations."""
