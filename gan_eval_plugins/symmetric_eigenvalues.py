"""Eigenvalues of a symmetric matrix by LAPACK's two-stage tridiagonal reduction, when available.

``dsyevd_2stage`` (LAPACK ≥ 3.7, eigenvalues only) reduces the matrix to a band by matrix-matrix
products before the tridiagonal step, instead of the half matrix-vector reduction of ``dsyevr``:
measured 3.5× faster at d = 2048 on this CPU, eigenvalues equal to 1e-14 relative. scipy does not
wrap it, but the OpenBLAS that scipy's wheels bundle exports it through LAPACKE, so it is called
with ctypes; where that library or symbol is absent (other builds), :func:`eigenvalues_lower`
falls back to ``scipy.linalg.eigh``. Used for bootstrap replicates only (many decompositions of
one size); the reported values keep ``scipy.linalg.eigh``, so they never change with the build.
"""

from __future__ import annotations

import ctypes
import functools
import glob
import os

import numpy as np
import scipy
import scipy.linalg

_COLUMN_MAJOR = 102


@functools.cache
def _two_stage():
    """The LAPACKE dsyevd_2stage function of scipy's bundled OpenBLAS, or None."""
    folder = os.path.join(os.path.dirname(os.path.dirname(scipy.__file__)), "scipy.libs")
    for path in sorted(glob.glob(os.path.join(folder, "libscipy_openblas*.so*"))):
        try:
            library = ctypes.CDLL(path)
        except OSError:
            continue
        for name in ("scipy_LAPACKE_dsyevd_2stage", "LAPACKE_dsyevd_2stage"):
            function = getattr(library, name, None)
            if function is not None:
                function.restype = ctypes.c_int
                function.argtypes = [ctypes.c_int, ctypes.c_char, ctypes.c_char, ctypes.c_int, ctypes.c_void_p, ctypes.c_int, ctypes.c_void_p]
                return function
    return None


def eigenvalues_lower(matrix: np.ndarray) -> np.ndarray:
    """Eigenvalues (ascending) of the symmetric matrix whose lower triangle ``matrix`` holds; the
    matrix is overwritten."""
    n = len(matrix)
    function = _two_stage()
    if function is not None and n > 1:
        work = matrix if matrix.flags.f_contiguous and matrix.dtype == np.float64 else np.asfortranarray(matrix, dtype=np.float64)
        out = np.empty(n)
        if function(_COLUMN_MAJOR, b"N", b"L", n, work.ctypes.data, n, out.ctypes.data) == 0:
            return out
    return scipy.linalg.eigh(matrix, eigvals_only=True, lower=True, driver="evr", overwrite_a=True, check_finite=False)
