"""The rules of the domain, as plain functions on models.

Services mutate and flush, and write their audit events in the same transaction; they never
commit (the request or CLI command commits once at the edge) and never read the Flask request.
"""
