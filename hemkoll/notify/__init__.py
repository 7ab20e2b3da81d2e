"""Delivery of the notification outbox and escalation of red alerts: ``hemkoll dispatch``.

``schedule`` (pure): retry schedules and the delivery state machine; ``channels``: one class
per channel (webhook, device) behind one interface; ``webhook``: signed Standard Webhooks
requests; ``device``: messages on the devices' feedback topics; ``delivery``: one attempt at
one notification; ``escalation``: red alerts nobody acknowledged in time; ``dispatcher``: the
service that runs them.
"""
