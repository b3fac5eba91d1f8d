"""From `knowledge/` to the index: load and check documents, split, embed, store in Chroma."""
