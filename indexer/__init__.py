"""The indexer: turns the files of a corpus folder into a searchable index.

It owns loading (text, markdown, PDF page by page with its layout and OCR of scanned pages,
Word, HTML), structure (headings, normative sections, tables, findings, printed pages), chunking,
reference tagging, embeddings, the stores (a docstore, the Chroma collection and a lexical BM25
index kept in step) and the management of indexed documents (list, remove, re-index).

It must not import the assistant: data flows one way, from files to index.
"""
