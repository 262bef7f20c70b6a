"""bigtext_lite: the reusable code of the bigtext book.

Every chapter notebook derives a piece step by step; the final version lives
here and later chapters import it. The library never imports a notebook.
"""

__version__ = "0.1.0"
