"""Reporting: tables, figures, the error analysis and MLflow publishing, from evaluation files only."""
