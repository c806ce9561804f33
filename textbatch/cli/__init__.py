"""The `textbatch` command line."""
