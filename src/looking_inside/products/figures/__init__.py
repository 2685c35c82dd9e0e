"""Figures, one module per chapter (or kind of drawing); the table is ``registry``."""
