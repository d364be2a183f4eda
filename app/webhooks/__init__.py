"""Webhooks: signed HTTP notifications of activities, invitations and problems to other systems.

`models` (endpoints and the events they receive), `events` (what each event says and queuing one
delivery per subscribed endpoint in the outbox), `signing` (Standard Webhooks HMAC-SHA256),
`sender` (the outbox's "webhook" channel: the HTTP POST and what its answer means), `services`
(registering endpoints, resending), `wiring` (`register(app)`: signal receivers and the sender),
`views`/`forms` (the administrator's pages with each endpoint's delivery log).
"""
