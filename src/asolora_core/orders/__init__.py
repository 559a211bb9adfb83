"""The order aggregate: model, the transitions table, pure commands (R3-R14, R19, R20, R38)."""
