"""The money ledger (R15-R25, R39, R41, R42): a double-entry, hash-chained journal; holds and
releases; refunds and chargebacks before and after release; payouts with statements.

* :mod:`asolora_core.ledger.model`: accounts, journal transactions, fees, holds, payouts.
* :mod:`asolora_core.ledger.core`: the pure functions that build each money move.
* :mod:`asolora_core.ledger.events`: the ledger's domain events.
* :mod:`asolora_core.ledger.service`: the facade methods (mixed into ``Marketplace``).

The "Money" page of the docs walks through a worked example of each.
"""
