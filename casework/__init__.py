"""Casework: what one step of the appeal process does across the apps beneath it.

``cases`` declares the case, its orders, its history and the state machine; ``evidence``,
``workflows``, ``billing``, ``recovery`` and ``integrations`` build on it. Here the steps
are put together: opening a case (its deadlines, its assignment), each state-machine
transition with its guards and its effects in the other apps, appeal attempts and
outcomes, the conversation with the client, and the client's timeline. Only the APIs, the
pages, reports and the project's URLs import this package.
"""
