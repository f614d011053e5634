"""Facts about the compiled kernels that a caller may want before starting work."""
from __future__ import annotations

from fastrelu import _validation as v

#: What ``kernels_cached`` can be asked about.
WORK = ("fit", "ensemble")


def kernels_cached(work: str = "fit") -> bool:
    """Whether the compiled kernels for ``work`` are already in numba's on-disk cache.

    The first ``fit`` (``work="fit"``) or ``Ensemble.fit``/``sweep`` (``"ensemble"``) after an
    install compiles fastrelu's kernels, about 40 s on a 2-core machine; later runs load them
    in well under a second. Front ends use this to say so before a long silent first run. It
    looks for the cache entry only (not for every dtype or path), so it is a hint.

    Examples
    --------
    >>> import fastrelu as fr
    >>> isinstance(fr.kernels_cached("fit"), bool)
    True
    """
    work = v.check_choice("work", work, WORK)
    import fastrelu.kernels  # noqa: F401  (registers the kernels' cache locator)
    from fastrelu.kernels._config import CACHE_ENTRIES, cache_has

    return cache_has(CACHE_ENTRIES[work])
