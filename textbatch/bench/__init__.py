"""`textbatch bench`: textbatch configurations against the scikit-learn peer, in one run."""
