"""Delivery of server messages to people's pages, on this node or on any node."""
