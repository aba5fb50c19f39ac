"""AIAT gateway: the REST API, the database, the job publisher and the worker that drives jobs."""
