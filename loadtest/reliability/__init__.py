"""Reliability checks that print figures: hostile inputs, poisoned rows under load, outages, rolls, shutdown, soak.

``python -m loadtest.reliability --help`` lists them; docs/reliability.md has
their output. The tests in tests/facade/ run the same code with smaller budgets.
"""
