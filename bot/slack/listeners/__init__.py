"""Thin Bolt listeners: ack, pull primitives from the payload, call one service, render."""
