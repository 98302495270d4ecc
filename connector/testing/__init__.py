"""Testing a catalog: the contract tests every catalog runs (:func:`contract_tests`), and the
helpers tests and benchmarks share: free ports (``network``), a private PostgreSQL server
(``postgres``), a webhook subscriber on loopback (``subscriber``), JSON with comments (``jsonc``).

Nothing here is imported to serve."""

from connector.testing.contract import contract_tests

__all__ = ["contract_tests"]
