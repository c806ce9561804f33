"""textbatch: train a text classifier and classify CSV files of texts, locally or on AWS Batch."""

from textbatch.errors import TextbatchError

__version__ = "0.1.0"
__all__ = ["TextbatchError", "__version__"]
