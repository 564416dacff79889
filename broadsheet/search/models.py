"""What the search app stores: one SearchDocument per paper, and which vector index file is
current (SQLite mode).

Titles and abstracts stay in papers_paper (the source of truth); a document adds what search
needs besides: the authors as one string, the vector, and (PostgreSQL only, added by the
migration and invisible to the ORM) the weighted `tsv` column. On SQLite the lexical index is
a tantivy folder beside the database (backends/embedded/lexical_index.py), named by
LexicalIndexState.
"""

from __future__ import annotations

from django.db import models

from broadsheet.papers.models import Paper
from broadsheet.search.fields import VectorField


class EmbeddingModel(models.Model):
    """A model that made search vectors (its name is embedder.model_name() of the code that
    ran it): each stored vector names one, so vectors of two models are never compared."""

    name = models.CharField(max_length=200, unique=True)

    class Meta:
        db_table = "search_embedding_model"

    def __str__(self) -> str:
        return self.name


class SearchDocument(models.Model):
    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="search_document"
    )
    authors = models.TextField(blank=True)
    # Hash of the text the vector was (or will be) computed from: when a paper's title or
    # abstract changes, indexing sees a new hash and drops the stale vector.
    text_hash = models.CharField(max_length=40, blank=True)
    embedding = VectorField(dimensions=384, null=True, blank=True)
    embedded_at = models.DateTimeField(null=True, blank=True, db_index=True)
    # The model the vector came from. Every vector here is of one model, the one queries are
    # embedded for; a change of model is staged beside (StagedVector) and swapped in whole.
    model = models.ForeignKey(
        EmbeddingModel, null=True, blank=True, on_delete=models.PROTECT, related_name="+",
        db_index=False,
    )  # fmt: skip
    # When the words of the current text were added to the spelling vocabulary
    # (SearchWord); null for a new or changed text until spelling.count_pending() counts it.
    # Nullable, so adding it to a large table is an ALTER TABLE, not a copy of the table.
    words_counted_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        db_table = "search_document"
        indexes = [
            # The few documents whose words wait to be counted, found without a scan.
            models.Index(
                fields=["paper"],
                condition=models.Q(words_counted_at__isnull=True),
                name="search_doc_uncounted_idx",
            ),
            # Which candidates of a semantic search have a vector, answered from this index
            # alone (SQLite mode), without reading the rows that hold the vectors. (SQLite
            # 3.40 reads the row for a partial index WHERE embedded_at IS NOT NULL.) On
            # PostgreSQL it is redundant: a small cost per stored vector, for one schema.
            models.Index(fields=["paper", "embedded_at"], name="search_doc_embedded_idx"),
        ]

    def __str__(self) -> str:
        return f"search document of paper {self.paper_id}"


class StagedVector(models.Model):
    """A paper's vector from a model other than the one its document's vector came from,
    made by a re-embedding (`broadsheet embed --reembed`, indexing.reembed) and moved into
    search_document with all the others once every document has one. Until then searches
    use the old vectors only, and a killed re-embedding resumes from what is staged."""

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )
    model = models.ForeignKey(EmbeddingModel, on_delete=models.PROTECT, related_name="+")
    text_hash = models.CharField(max_length=40)
    embedding = VectorField(dimensions=384)

    class Meta:
        db_table = "search_staged_vector"

    def __str__(self) -> str:
        return f"staged vector of paper {self.paper_id}"


class VectorIndexState(models.Model):
    """The current generation of the SQLite-mode vector index file (a single row).

    Kept in the database rather than in a pointer file so the file a worker loads always
    agrees with the committed vectors (a rolled-back transaction never points at a newer
    file), and a worker learns of a new generation with one primary-key read.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    filename = models.CharField(max_length=200)
    count = models.PositiveIntegerField(default=0)
    # Vectors embedded up to this moment are in the file; later ones are added by the next sync.
    synced_until = models.DateTimeField(null=True, blank=True)
    # The model of the file's vectors, which queries against it are embedded for.
    model = models.CharField(max_length=200, blank=True)
    built_at = models.DateTimeField(auto_now=True)

    class Meta:
        db_table = "search_vector_index"

    def __str__(self) -> str:
        return f"{self.filename} ({self.count} vectors)"


class LexicalIndexState(models.Model):
    """Which tantivy folder is the SQLite-mode lexical index (a single row).

    Written in the transaction of the first batch indexed into a new folder, so a database
    whose first batch rolled back (or a fresh database beside an old folder) never reads
    documents it does not hold.
    """

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    dirname = models.CharField(max_length=200)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        db_table = "search_lexical_index"

    def __str__(self) -> str:
        return self.dirname


class LexicalPending(models.Model):
    """A paper whose SQLite-mode lexical entry is being written in the background.

    Inserted in the transaction that changed the paper, deleted once the tantivy commit
    that holds its entry is done (lexical_pipeline.py). Empty except during a long import;
    rows left by a killed import are indexed again by `lexical_pipeline.index_pending()`.
    """

    paper = models.OneToOneField(
        Paper, on_delete=models.CASCADE, primary_key=True, related_name="+"
    )

    class Meta:
        db_table = "search_lexical_pending"

    def __str__(self) -> str:
        return f"lexical entry of paper {self.paper_id} pending"


class SearchWord(models.Model):
    """A word as the papers spell it (lower case), and how many papers' titles and abstracts
    hold it: the vocabulary that spelling correction draws from (spelling.py).

    Counted when a paper's text is new or changed; the words of a deleted paper or of an
    abstract's earlier version stay counted until `broadsheet reindex` counts afresh."""

    word = models.CharField(max_length=40, primary_key=True)
    docs = models.PositiveIntegerField(default=0)

    class Meta:
        db_table = "search_word"

    def __str__(self) -> str:
        return f"{self.word} ({self.docs})"


class SpellingState(models.Model):
    """A new random token whenever the vocabulary changes (a single row): a process keeps
    its loaded vocabulary while the token is the same. Random rather than a counter, so a
    rolled-back change never repeats a token that stood for other words."""

    id = models.PositiveSmallIntegerField(primary_key=True, default=1)
    token = models.CharField(max_length=32)

    class Meta:
        db_table = "search_spelling"

    def __str__(self) -> str:
        return self.token
