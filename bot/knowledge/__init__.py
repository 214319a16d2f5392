"""Knowledge base: passages, embeddings and retrieval."""
