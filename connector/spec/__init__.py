"""Spec generation: OpenAPI documents, Power Automate packages, and their export to ``openapi/``."""
