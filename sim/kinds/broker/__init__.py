"""The ``kind: broker`` package: a Kafka-like topic (``spec``), its runtime, its twin and its statistics."""

from sim.kinds.broker.spec import BrokerSpec, ConsumerSpec

__all__ = ["BrokerSpec", "ConsumerSpec"]
