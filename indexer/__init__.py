"""The indexer: turns the files of a corpus folder into a searchable index.

It owns loading (text, markdown, PDF page by page), structure (headings, tables,
findings, printed pages), chunking, reference tagging, embeddings and the stores
(a docstore, the Chroma collection and a lexical BM25 index kept in step).

It must not import the assistant: data flows one way, from files to index.
"""
