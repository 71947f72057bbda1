"""emoprobe: reproducible companion to arXiv 2604.15280 (why VLMs struggle to recognise human emotions)."""

__version__ = "0.1.0"
