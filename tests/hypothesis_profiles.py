"""Hypothesis profiles: ``ci`` (the default: capped, so the property suites stay well under
a minute) and ``local`` (ten times the examples), chosen with ``pytest
--hypothesis-profile=local`` or ``HYPOTHESIS_PROFILE=local``. Suites that set their own
``max_examples`` keep it; the I/O round-trip suite (tests/test_io_roundtrip.py) takes
the profile's."""
from __future__ import annotations

import os

from hypothesis import HealthCheck, settings

SLOW_DATA = [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.large_base_example]

settings.register_profile("ci", max_examples=25, deadline=None, suppress_health_check=SLOW_DATA, print_blob=True)
settings.register_profile("local", max_examples=250, deadline=None, suppress_health_check=SLOW_DATA, print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))
