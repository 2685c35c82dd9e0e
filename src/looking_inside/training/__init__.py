"""Stage 2, training: the networks, the trainer, what it returns, and get-or-train.

A result's cache key covers the source of this folder and of ``data/``, the
experiment's config, the data's identity and the library versions.
"""
