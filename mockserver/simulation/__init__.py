"""The simulation: clock, channels, outcome rules, message lifecycles, failover workflows, inbound messages.

Nothing here knows about HTTP.
"""
