"""digitlab.scale: the same reading, scaled out on Ray (`pip install 'digitlab[ray]'`).

Usage:

    from digitlab.scale import run_batch
    summary = run_batch("scans/", Path("readings.parquet"), address=None)   # a local Ray; or "HOST:PORT"

`batch.py` reads many images with Ray Data (an actor pool of Recognizers) and
`output.py` writes its rows. Ray itself is imported only when a job runs, so
importing this package costs nothing without the extra.
"""

from digitlab.scale.batch import BatchSummary, list_paths, run_batch
from digitlab.scale.output import OUTPUT_FORMATS, open_output

__all__ = ["BatchSummary", "OUTPUT_FORMATS", "list_paths", "open_output", "run_batch"]
