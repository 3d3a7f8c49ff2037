"""Reporting's rules as plain functions: the per-dossier fold, periods, indicators, plans and the official forms."""
