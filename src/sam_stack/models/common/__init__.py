"""Building blocks that SAM v1 and v2 share: the same logic, one implementation."""
