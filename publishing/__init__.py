"""Producing records to Kafka: one way, used by every layer that publishes."""
