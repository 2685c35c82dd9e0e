"""``python -m looking_inside.bench``: the benchmark, kept apart from the product.

The product never imports this package; it calls only the product's public API.
"""
