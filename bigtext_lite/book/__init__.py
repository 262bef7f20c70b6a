"""The book's own machinery: the ``bigtext`` command, assignments and their grading
sandbox, and the helpers chapter notebooks call to show code and draw plots."""
