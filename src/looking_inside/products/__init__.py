"""Stage 3, products: what the site shows, made from trained results and test images.

A product (a figure in both palettes, the facts, an interactive export) declares the
experiments and data sets it reads, once; the builder hands it exactly those. Its
cache key covers its own module and every module of the package it imports, so
display text (``labels``) and drawing code move only the keys of what they draw.
"""
