"""Facts about the compiled kernels that a caller may want before starting work."""
from __future__ import annotations

from fastrelu import _validation as v

#: What ``kernels_cached`` can be asked about.
WORK = ("fit", "ensemble", "init")

#: Seconds a first run of each kind of work took from an empty kernel cache, measured on a
#: 2-core AMD EPYC (AVX2; 2026-12-02 19:40-20:25 UTC, whole commands): ``fastrelu scenario
#: lr-explosion`` (fit: 10.8 s median of 3; 9-14 s in other sittings of the same day),
#: ``fastrelu sweep lr-death`` (ensemble, 40.2 s: it also compiles the generators, the
#: measurement and the fit kernels its preflight uses), ``fastrelu sweep born-dead`` (init,
#: 30.3 s). Other machines differ.
FIRST_RUN_SECONDS = {"fit": 11.0, "ensemble": 40.0, "init": 30.0}


def kernels_cached(work: str = "fit") -> bool:
    """Whether the compiled kernels for ``work`` are already in numba's on-disk cache.

    The first ``fit`` (``work="fit"``), ``Ensemble.fit`` or trained ``sweep`` (``"ensemble"``)
    or sweep at initialization (``"init"``) after an install compiles fastrelu's kernels
    (:data:`FIRST_RUN_SECONDS` on a 2-core machine); later runs load them in about a second.
    Front ends use this to say so before a long silent first run. It looks for the entry
    kernels' cache indexes only (not for every dtype or path), so it is a hint.

    Examples
    --------
    >>> import fastrelu as fr
    >>> isinstance(fr.kernels_cached("fit"), bool)
    True
    """
    work = v.check_choice("work", work, WORK)
    import fastrelu.kernels  # noqa: F401  (registers the kernels' cache locator)
    from fastrelu.kernels._config import CACHE_ENTRIES, cache_has

    return all(cache_has(entry) for entry in CACHE_ENTRIES[work])
