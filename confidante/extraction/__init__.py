"""Fact extraction: what people say -> candidate facts for the graph (rules, events, an LLM)."""
