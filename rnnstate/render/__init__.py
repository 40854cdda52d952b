"""Renderers turn a Result into output: rich tables (table.py) or one JSON document (json.py)."""
