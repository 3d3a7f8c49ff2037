"""Intake's outbound integrations: the national public-service portal and notices to citizens (docs/integrations.md).

Plain functions and senders only: what to send (payload mapping, templates, quiet hours) and how to send it (a
:class:`libs.common.delivery.Sender` per target). Enqueueing deliveries in intake's transactions is the job of
intake's use cases; sending them is the job of :class:`libs.common.delivery.DeliveryWorker`.
"""
