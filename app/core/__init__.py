"""Pieces shared by every feature, imported by all of them and importing none of them.

The unit of work (one transaction per request, CLI command or scheduler pass), the errors
services raise for the edge, the input layer (bounded converters, query arguments, the base
form), roles and view permission checks, security headers, database timeouts, formula-safe
spreadsheet cells, column types, the clock, time zones and pagination.
"""
