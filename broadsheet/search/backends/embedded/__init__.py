"""The embedded search engine: tantivy (lexical_index.py) and faiss (vectorindex.py) indexes
kept in folders beside the database on each node, derived from it; backend.py searches them.
Today SQLite sites use it.

Nothing here may import Django at package import: the indexing process (index_worker.py)
loads this package before Django is set up."""
