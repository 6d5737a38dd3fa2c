"""Workflows on numpy arrays: prompts, automatic masks, propagation through stacks."""
