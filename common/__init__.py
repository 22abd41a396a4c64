"""Stdlib-only pieces shared by training, export and the facade."""
