"""Webhook machinery: subscriptions, their outbox, and the workers that deliver it.

Each table has one module that writes it (the schema itself is in ``connector.tables``, which the
migrations read):

- ``subscriptions``: the ``subscriptions`` table: subscribing, ending, enabling, and the leases
  and endpoint health the delivery workers write;
- ``outbox``: the ``events`` and ``attempts`` tables: enqueueing, the claimable heads, delivery
  records and every attempt, listing, retry and replay, retention;
- ``heartbeats``: the ``workers`` table: the roll of live delivery workers.

``delivery`` is the worker that orchestrates them; ``deadlines`` bounds each HTTP exchange it
makes and ``ssrf`` keeps callback URLs out of our network.
"""
