"""Kept while tests still import ``subscriber`` by its old name: the subscriber is ``connector.testing.subscriber``."""

from connector.testing.subscriber import Dribbler, Subscriber, running_dribbler, running_subscriber

__all__ = ["Dribbler", "Subscriber", "running_dribbler", "running_subscriber"]
