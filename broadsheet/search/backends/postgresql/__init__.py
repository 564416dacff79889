"""PostgreSQL's own search: a weighted tsvector with GIN for words, pgvector HNSW for meaning,
all in the database (backend.py)."""
