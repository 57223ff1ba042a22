"""Stores own every SQL statement; they return rows or scalars and never commit."""
