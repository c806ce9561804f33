"""A deployed textbatch stack, as the command line sees it."""
