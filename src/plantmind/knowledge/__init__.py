"""The plant's documents as searchable knowledge: loaders (PDF, Markdown, text, HTML,
work-order CSV, plant.yaml sensor sheets), structure-aware chunking, maintenance shorthand,
and the hybrid index (BM25, plus dense embeddings with the [embed] extra) on disk.

>>> from plantmind.knowledge.text import tokenize
>>> tokenize("rplc brg") == tokenize("replace bearing")
True
"""

from plantmind.knowledge.documents import Block, Chunk, LoadedDocument, LoaderError
from plantmind.knowledge.index import AddResult, DocumentInfo, Hit, KnowledgeIndex, SearchResult
from plantmind.knowledge.loaders import SUPPORTED_SUFFIXES, load_document

__all__ = [
    "SUPPORTED_SUFFIXES",
    "AddResult",
    "Block",
    "Chunk",
    "DocumentInfo",
    "Hit",
    "KnowledgeIndex",
    "LoadedDocument",
    "LoaderError",
    "SearchResult",
    "load_document",
]
