"""The Kafka runtime under every handler: polling, decoding, outcomes, commits, dead letters."""
