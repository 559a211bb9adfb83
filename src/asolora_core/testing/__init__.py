"""A testing kit for users' own tests: contract suites and hypothesis strategies.

Needs the ``testing`` extra (``pip install asolora-core[testing]``), which brings pytest and
hypothesis. Nothing here is imported by ``import asolora_core``; import the submodules you
need, e.g. :mod:`asolora_core.testing.contract` (the contract suite every store of the
library passes, and yours can too: subclass its ``StoreContract`` and implement
``make_store``).
"""

__all__: list[str] = []
