"""The `make demo` pipeline's own data: generated word problems, the document pool, the report."""
